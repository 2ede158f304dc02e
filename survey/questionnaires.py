"""Questionnaires as data: loading, validating and indexing ``forms/``.

A questionnaire lives in ``forms/<id>/v<N>.toml``; answer scales in
``forms/scales.toml``. Loading checks every file completely at start-up and
raises :class:`QuestionnaireError` naming the file and the problem, so a
malformed file never reaches a citizen.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

IndexRule = Literal["item-mean", "pooled", "children-mean", "weighted"]
INDEX_RULES: tuple[str, ...] = ("item-mean", "pooled", "children-mean", "weighted")
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
#: Option codes may start with a digit and hold '+': "18-24", "60+".
_OPTION_CODE = re.compile(r"^[a-z0-9][a-z0-9_+-]{0,30}$")
_FILE = re.compile(r"^v(\d+)\.toml$")
#: Demographic questions hailong stores (columns of ``response``; raking margins).
DEMOGRAPHIC_CODES = ("sex", "age_group", "ethnic_group")


class QuestionnaireError(ValueError):
    """A questionnaire file is malformed; the message names file and problem."""


def nfc(text: str) -> str:
    """Vietnamese text is stored and compared in Unicode NFC."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True, slots=True)
class ScalePoint:
    value: int
    text: str
    icon: str


@dataclass(frozen=True, slots=True)
class Scale:
    code: str
    points: tuple[ScalePoint, ...]
    missing: str

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(p.value for p in self.points)


@dataclass(frozen=True, slots=True)
class Option:
    code: str
    text: str


@dataclass(frozen=True, slots=True)
class RatingItem:
    """A satisfaction item answered on the questionnaire's scale."""

    code: str
    text: str
    element: str | None
    aspect: str | None
    required: bool = False


@dataclass(frozen=True, slots=True)
class ChoiceItem:
    """A skippable single-choice question (demographics)."""

    code: str
    text: str
    options: tuple[Option, ...]
    required: bool = False

    @property
    def option_codes(self) -> frozenset[str]:
        return frozenset(o.code for o in self.options)


@dataclass(frozen=True, slots=True)
class CommentItem:
    text: str
    max_length: int


@dataclass(frozen=True, slots=True)
class IndexNode:
    """One level of the index tree: overall, an aspect or an element.

    ``items`` are the item codes directly below an element; ``children`` the
    nodes below an aspect or the overall index. ``rule`` says how the level
    combines what is below it (see DOMAIN.md, "The index").
    """

    code: str
    name: str
    level: Literal["overall", "aspect", "element"]
    rule: IndexRule = "item-mean"
    children: tuple[IndexNode, ...] = ()
    items: tuple[str, ...] = ()
    weights: Mapping[str, float] | None = None

    def all_items(self) -> tuple[str, ...]:
        if self.items:
            return self.items
        return tuple(code for child in self.children for code in child.all_items())

    def walk(self) -> Iterator[IndexNode]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class Element:
    code: str
    name: str
    aspect: str
    items: tuple[RatingItem, ...]


@dataclass(frozen=True, slots=True)
class Questionnaire:
    id: str
    version: int
    language: str
    title: str
    intro: str
    scale: Scale
    elements: tuple[Element, ...]
    items: tuple[RatingItem, ...]
    overall: RatingItem | None
    demographics: tuple[ChoiceItem, ...]
    comment: CommentItem | None
    index: IndexNode
    path: Path = field(compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    @property
    def rating_items(self) -> tuple[RatingItem, ...]:
        """Every item answered on the scale, the overall question last."""
        return self.items + ((self.overall,) if self.overall else ())

    @property
    def rating_codes(self) -> frozenset[str]:
        return frozenset(i.code for i in self.rating_items)

    def demographic(self, code: str) -> ChoiceItem | None:
        return next((d for d in self.demographics if d.code == code), None)

    def texts(self) -> Iterator[str]:
        """Every translatable text, for the catalog extractor."""
        yield self.title
        yield self.intro
        yield self.scale.missing
        for point in self.scale.points:
            yield point.text
        for node in self.index.walk():
            yield node.name
        for item in self.rating_items:
            yield item.text
        for demo in self.demographics:
            yield demo.text
            for option in demo.options:
                yield option.text
        if self.comment:
            yield self.comment.text


class _Reader:
    """Reads one TOML table, raising errors that name the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, problem: str) -> QuestionnaireError:
        return QuestionnaireError(f"{self.path}: {problem}")

    def text(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}: '{key}' must be a non-empty string")
        return nfc(value.strip())

    def code(self, table: Mapping[str, Any], where: str, pattern: re.Pattern[str] = _CODE) -> str:
        value = table.get("code")
        if not isinstance(value, str) or not pattern.match(value):
            raise self.fail(
                f"{where}: 'code' must be lower-case letters, digits, '_' or '-' "
                f"(got {value!r})"
            )
        return value

    def tables(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"'{key}' must be an array of tables ([[{key}]])")
        return value

    def rule(self, table: Mapping[str, Any], where: str) -> IndexRule:
        rule = table.get("rule", "item-mean")
        if rule not in INDEX_RULES:
            raise self.fail(f"{where}: unknown rule {rule!r}; use one of {', '.join(INDEX_RULES)}")
        return rule

    def flag(self, table: Mapping[str, Any], key: str, where: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"{where}: '{key}' must be true or false")
        return value


def load_scales(path: Path) -> dict[str, Scale]:
    reader = _Reader(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise reader.fail(str(exc)) from exc
    scales: dict[str, Scale] = {}
    for code, table in data.items():
        points = []
        for i, point in enumerate(reader.tables(table, "points")):
            value = point.get("value")
            if not isinstance(value, int) or isinstance(value, bool):
                raise reader.fail(f"scale {code} point {i + 1}: 'value' must be an integer")
            points.append(
                ScalePoint(value, reader.text(point, "text", f"scale {code}"),
                           point.get("icon", ""))
            )
        if len(points) < 2:
            raise reader.fail(f"scale {code}: needs at least two points")
        scales[code] = Scale(code, tuple(points), reader.text(table, "missing", f"scale {code}"))
    return scales


def load_questionnaire(path: Path, scales: Mapping[str, Scale]) -> Questionnaire:
    """Load and validate one questionnaire file."""
    r = _Reader(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise r.fail(str(exc)) from exc

    qid, version = data.get("id"), data.get("version")
    match = _FILE.match(path.name)
    if not isinstance(qid, str) or not _CODE.match(qid):
        raise r.fail(f"'id' must be a lower-case code (got {qid!r})")
    if path.parent.name != qid:
        raise r.fail(f"'id' is {qid!r} but the file lies in folder {path.parent.name!r}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise r.fail(f"'version' must be a positive integer (got {version!r})")
    if match is None or int(match.group(1)) != version:
        raise r.fail(f"'version' is {version} but the file is named {path.name!r}")
    scale = scales.get(data.get("scale", ""))
    if scale is None:
        raise r.fail(f"unknown scale {data.get('scale')!r}; known: {', '.join(sorted(scales))}")

    aspects: dict[str, Mapping[str, Any]] = {}
    for table in r.tables(data, "aspects"):
        code = r.code(table, "aspect")
        r.text(table, "name", f"aspect {code}")
        aspects[code] = table
    element_tables: dict[str, Mapping[str, Any]] = {}
    for table in r.tables(data, "elements"):
        code = r.code(table, "element")
        if code in element_tables:
            raise r.fail(f"element {code} is defined twice")
        if table.get("aspect") not in aspects:
            raise r.fail(f"element {code}: unknown aspect {table.get('aspect')!r}")
        element_tables[code] = table

    seen: set[str] = set()

    def unique(code: str, where: str) -> str:
        if code in seen:
            raise r.fail(f"{where}: code {code!r} is used twice")
        seen.add(code)
        return code

    items: list[RatingItem] = []
    for table in r.tables(data, "items"):
        code = unique(r.code(table, "item"), "item")
        element = table.get("element")
        if element not in element_tables:
            raise r.fail(f"item {code}: unknown element {element!r}")
        items.append(
            RatingItem(
                code=code,
                text=r.text(table, "text", f"item {code}"),
                element=element,
                aspect=element_tables[element]["aspect"],
                required=r.flag(table, "required", f"item {code}"),
            )
        )
    if not items:
        raise r.fail("a questionnaire needs at least one item ([[items]])")

    overall = None
    if "overall" in data:
        table = data["overall"]
        code = unique(r.code(table, "overall"), "overall")
        overall = RatingItem(
            code, r.text(table, "text", "overall"), None, None,
            r.flag(table, "required", "overall"),
        )

    demographics = []
    for table in r.tables(data, "demographics"):
        code = unique(r.code(table, "demographic"), "demographic")
        if code not in DEMOGRAPHIC_CODES:
            raise r.fail(f"demographic {code}: use one of {', '.join(DEMOGRAPHIC_CODES)}")
        options = []
        for option in table.get("options", []):
            if not isinstance(option, dict):
                raise r.fail(f"demographic {code}: each option must be a table")
            options.append(
                Option(r.code(option, f"demographic {code} option", _OPTION_CODE),
                       r.text(option, "text", f"demographic {code} option"))
            )
        if len(options) < 2:
            raise r.fail(f"demographic {code}: needs at least two options")
        demographics.append(
            ChoiceItem(code, r.text(table, "text", f"demographic {code}"), tuple(options),
                       r.flag(table, "required", f"demographic {code}"))
        )

    comment = None
    if "comment" in data:
        table = data["comment"]
        max_length = table.get("max_length", 2000)
        if not isinstance(max_length, int) or not 1 <= max_length <= 10_000:
            raise r.fail("comment: 'max_length' must be an integer from 1 to 10000")
        comment = CommentItem(r.text(table, "text", "comment"), max_length)

    elements = tuple(
        Element(code, r.text(t, "name", f"element {code}"), t["aspect"],
                tuple(i for i in items if i.element == code))
        for code, t in element_tables.items()
    )
    for element in elements:
        if not element.items:
            raise r.fail(f"element {element.code} has no items")

    def weights(table: Mapping[str, Any], where: str, children: tuple[str, ...]
                ) -> Mapping[str, float] | None:
        if r.rule(table, where) != "weighted":
            return None
        given = table.get("weights")
        if not isinstance(given, dict) or set(given) != set(children):
            raise r.fail(
                f"{where}: rule 'weighted' needs 'weights' for exactly {list(children)}"
            )
        if not all(isinstance(w, int | float) and w >= 0 for w in given.values()):
            raise r.fail(f"{where}: weights must be non-negative numbers")
        return {k: float(v) for k, v in given.items()}

    element_nodes = {
        e.code: IndexNode(
            code=e.code, name=e.name, level="element",
            rule=r.rule(element_tables[e.code], f"element {e.code}"),
            items=tuple(i.code for i in e.items),
            weights=weights(element_tables[e.code], f"element {e.code}",
                            tuple(i.code for i in e.items)),
        )
        for e in elements
    }
    aspect_nodes = []
    for code, table in aspects.items():
        children = tuple(n for n in element_nodes.values()
                         if element_tables[n.code]["aspect"] == code)
        if not children:
            raise r.fail(f"aspect {code} has no elements")
        aspect_nodes.append(
            IndexNode(code=code, name=r.text(table, "name", f"aspect {code}"), level="aspect",
                      rule=r.rule(table, f"aspect {code}"), children=children,
                      weights=weights(table, f"aspect {code}", tuple(c.code for c in children)))
        )
    index_table = data.get("index")
    if not isinstance(index_table, dict):
        raise r.fail("missing [index] table (code, name, rule)")
    root = IndexNode(
        code=r.code(index_table, "index"), name=r.text(index_table, "name", "index"),
        level="overall", rule=r.rule(index_table, "index"), children=tuple(aspect_nodes),
        weights=weights(index_table, "index", tuple(a.code for a in aspect_nodes)),
    )
    return Questionnaire(
        id=qid, version=version, language=data.get("language", "vi"),
        title=r.text(data, "title", "questionnaire"),
        intro=r.text(data, "intro", "questionnaire"),
        scale=scale, elements=elements, items=tuple(items), overall=overall,
        demographics=tuple(demographics), comment=comment, index=root, path=path,
    )


class QuestionnaireRegistry:
    """Every questionnaire version under a ``forms/`` directory."""

    def __init__(self, questionnaires: Mapping[tuple[str, int], Questionnaire]) -> None:
        self._by_key = dict(questionnaires)

    @classmethod
    def load(cls, directory: Path) -> QuestionnaireRegistry:
        scales_path = directory / "scales.toml"
        if not scales_path.is_file():
            raise QuestionnaireError(f"{scales_path}: file not found")
        scales = load_scales(scales_path)
        found = {}
        for path in sorted(directory.glob("*/v*.toml")):
            questionnaire = load_questionnaire(path, scales)
            found[questionnaire.key] = questionnaire
        if not found:
            raise QuestionnaireError(f"{directory}: no questionnaire files (forms/<id>/v<N>.toml)")
        return cls(found)

    def get(self, qid: str, version: int) -> Questionnaire | None:
        return self._by_key.get((qid, version))

    def latest(self, qid: str) -> Questionnaire | None:
        versions = [q for (i, _), q in self._by_key.items() if i == qid]
        return max(versions, key=lambda q: q.version, default=None)

    def __iter__(self) -> Iterator[Questionnaire]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)
