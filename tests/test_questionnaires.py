"""Questionnaires are data: every shipped file loads and builds a form; a
malformed file fails at start-up with a message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from survey import create_app, registry
from survey.config import PROJECT_ROOT
from survey.kiosk.forms import NO_ANSWER, build_form
from survey.questionnaires import QuestionnaireError, QuestionnaireRegistry

FORMS = PROJECT_ROOT / "forms"
SHIPPED = sorted(FORMS.glob("*/v*.toml"))

MINIMAL = """\
id = "mini"
version = 1
title = "Phiếu thử"
intro = "Giới thiệu"
scale = "satisfaction5"

[index]
code = "mini"
name = "Chỉ số"

[[aspects]]
code = "service"
name = "Dịch vụ"

[[elements]]
code = "staff"
aspect = "service"
name = "Công chức"

[[items]]
code = "q1"
element = "staff"
text = "Thái độ của công chức"
"""


def write_forms(root: Path, text: str, *, folder: str = "mini", name: str = "v1.toml",
                scales: str | None = None) -> Path:
    """A forms/ directory holding the shipped scales and one questionnaire file."""
    (root / folder).mkdir(parents=True)
    (root / "scales.toml").write_text(
        scales if scales is not None else (FORMS / "scales.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    path = root / folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_questionnaires_are_found() -> None:
    names = {(p.parent.name, p.name) for p in SHIPPED}
    assert {("sipas-service", "v1.toml"), ("kiosk-quick", "v1.toml")} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_file_loads_and_builds_a_form(app: Flask, path: Path) -> None:
    version = int(path.stem.removeprefix("v"))
    with app.test_request_context("/?lang=vi"):
        questionnaire = registry().get(path.parent.name, version)
        assert questionnaire is not None
        assert questionnaire.path == path
        form = build_form(questionnaire)(meta={"csrf": False})
        for item in questionnaire.rating_items:
            field = form[f"item_{item.code}"]
            values = [choice[0] for choice in field.iter_choices()]
            assert values == [*map(str, questionnaire.scale.values), NO_ANSWER]
        for item in questionnaire.demographics:
            assert {c[0] for c in form[f"item_{item.code}"].iter_choices()} == item.option_codes
        assert ("comment" in form) == (questionnaire.comment is not None)
        # The index tree covers every rating item except the overall question, once.
        indexed = questionnaire.index.all_items()
        assert sorted(indexed) == sorted(i.code for i in questionnaire.items)


def test_sipas_service_has_the_sixteen_items_in_five_elements(app: Flask) -> None:
    with app.app_context():
        sipas = registry().get("sipas-service", 1)
    assert sipas is not None
    assert len(sipas.items) == 16
    assert len(sipas.elements) == 5
    assert sipas.overall is not None
    assert {d.code for d in sipas.demographics} == {"sex", "age_group", "ethnic_group"}
    assert sipas.comment is not None


def test_kiosk_quick_has_one_item_per_element(app: Flask) -> None:
    with app.app_context():
        quick = registry().get("kiosk-quick", 1)
        sipas = registry().get("sipas-service", 1)
    assert quick is not None
    assert sipas is not None
    assert all(len(e.items) == 1 for e in quick.elements)
    assert [e.code for e in quick.elements] == [e.code for e in sipas.elements]
    assert quick.overall is not None


def test_the_minimal_questionnaire_is_valid(tmp_path: Path) -> None:
    write_forms(tmp_path, MINIMAL)
    loaded = QuestionnaireRegistry.load(tmp_path)
    assert loaded.get("mini", 1) is not None


BROKEN = {
    "toml syntax": (MINIMAL.replace('title = "Phiếu thử"', 'title = "Phiếu thử'), "at line 3"),
    "unknown element": (
        MINIMAL.replace('element = "staff"', 'element = "nowhere"'),
        "item q1: unknown element 'nowhere'",
    ),
    "duplicate item code": (
        MINIMAL + '\n[[items]]\ncode = "q1"\nelement = "staff"\ntext = "Lần nữa"\n',
        "code 'q1' is used twice",
    ),
    "overall reuses an item code": (
        MINIMAL + '\n[overall]\ncode = "q1"\ntext = "Nhìn chung"\n',
        "code 'q1' is used twice",
    ),
    "duplicate element": (
        MINIMAL.replace("[[items]]", '[[elements]]\ncode = "staff"\naspect = "service"\n'
                                     'name = "Lại"\n\n[[items]]'),
        "element staff is defined twice",
    ),
    "version does not match the file name": (
        MINIMAL.replace("version = 1", "version = 2"),
        "'version' is 2 but the file is named 'v1.toml'",
    ),
    "id does not match the folder": (
        MINIMAL.replace('id = "mini"', 'id = "other"'),
        "'id' is 'other' but the file lies in folder 'mini'",
    ),
    "version is not an integer": (
        MINIMAL.replace("version = 1", 'version = "1"'),
        "'version' must be a positive integer",
    ),
    "bad rule": (
        MINIMAL.replace('name = "Chỉ số"', 'name = "Chỉ số"\nrule = "median"'),
        "unknown rule 'median'",
    ),
    "weighted rule without weights": (
        MINIMAL.replace('name = "Chỉ số"', 'name = "Chỉ số"\nrule = "weighted"'),
        "rule 'weighted' needs 'weights'",
    ),
    "missing scale": (MINIMAL.replace('scale = "satisfaction5"\n', ""), "unknown scale None"),
    "unknown scale": (
        MINIMAL.replace('scale = "satisfaction5"', 'scale = "stars10"'),
        "unknown scale 'stars10'",
    ),
    "missing index": (MINIMAL.replace('[index]\ncode = "mini"\nname = "Chỉ số"\n', ""),
                      "missing [index] table"),
    "element without items": (
        MINIMAL.replace("[[items]]", '[[elements]]\ncode = "empty"\naspect = "service"\n'
                                     'name = "Trống"\n\n[[items]]'),
        "element empty has no items",
    ),
    "no items": (MINIMAL.split("[[items]]")[0], "needs at least one item"),
    "unknown aspect": (
        MINIMAL.replace('aspect = "service"', 'aspect = "elsewhere"'),
        "element staff: unknown aspect 'elsewhere'",
    ),
    "empty item text": (MINIMAL.replace('text = "Thái độ của công chức"', 'text = "  "'),
                        "item q1: 'text' must be a non-empty string"),
    "bad item code": (MINIMAL.replace('code = "q1"', 'code = "Q 1"'),
                      "'code' must be lower-case"),
    "required is not a boolean": (
        MINIMAL.replace('text = "Thái độ của công chức"',
                        'text = "Thái độ của công chức"\nrequired = "yes"'),
        "item q1: 'required' must be true or false",
    ),
    "unknown demographic": (
        MINIMAL + '\n[[demographics]]\ncode = "income"\ntext = "Thu nhập"\n'
                  'options = [{code = "low", text = "Thấp"}, {code = "high", text = "Cao"}]\n',
        "demographic income: use one of",
    ),
    "demographic with one option": (
        MINIMAL + '\n[[demographics]]\ncode = "sex"\ntext = "Giới tính"\n'
                  'options = [{code = "female", text = "Nữ"}]\n',
        "demographic sex: needs at least two options",
    ),
    "comment too long": (
        MINIMAL + '\n[comment]\ntext = "Góp ý"\nmax_length = 100000\n',
        "comment: 'max_length' must be an integer from 1 to 10000",
    ),
}


@pytest.mark.parametrize(("text", "problem"), BROKEN.values(), ids=BROKEN.keys())
def test_malformed_file_names_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write_forms(tmp_path, text)
    with pytest.raises(QuestionnaireError) as failure:
        QuestionnaireRegistry.load(tmp_path)
    message = str(failure.value)
    assert str(path) in message
    assert problem in message


def test_file_name_that_is_not_a_version(tmp_path: Path) -> None:
    path = write_forms(tmp_path, MINIMAL, name="vone.toml")
    with pytest.raises(QuestionnaireError, match="file is named 'vone.toml'") as failure:
        QuestionnaireRegistry.load(tmp_path)
    assert str(path) in str(failure.value)


def test_malformed_scales_file(tmp_path: Path) -> None:
    write_forms(tmp_path, MINIMAL, scales='[satisfaction5]\nmissing = "Không"\n'
                                          'points = [{ value = 1, text = "Một" }]\n')
    with pytest.raises(QuestionnaireError, match="needs at least two points") as failure:
        QuestionnaireRegistry.load(tmp_path)
    assert str(tmp_path / "scales.toml") in str(failure.value)


def test_missing_scales_file(tmp_path: Path) -> None:
    (tmp_path / "mini").mkdir()
    (tmp_path / "mini" / "v1.toml").write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="scales.toml: file not found"):
        QuestionnaireRegistry.load(tmp_path)


def test_directory_without_questionnaires(tmp_path: Path) -> None:
    (tmp_path / "scales.toml").write_text((FORMS / "scales.toml").read_text(encoding="utf-8"),
                                          encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="no questionnaire files"):
        QuestionnaireRegistry.load(tmp_path)


def test_malformed_file_stops_the_app_at_start_up(tmp_path: Path) -> None:
    path = write_forms(tmp_path, MINIMAL.replace("version = 1", "version = 3"))
    with pytest.raises(QuestionnaireError) as failure:
        create_app({"TESTING": True, "SECRET_KEY": "x", "FORMS_DIR": str(tmp_path),
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"})
    assert str(path) in str(failure.value)
    assert "'version' is 3" in str(failure.value)


def test_texts_are_stored_in_nfc(tmp_path: Path) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Thái độ của công chức")
    write_forms(tmp_path, MINIMAL.replace("Thái độ của công chức", decomposed))
    item = QuestionnaireRegistry.load(tmp_path).get("mini", 1).items[0]  # type: ignore[union-attr]
    assert item.text == unicodedata.normalize("NFC", "Thái độ của công chức")
