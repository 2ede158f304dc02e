"""Languages: catalogs complete, kiosk language choice and coverage rule,
Vietnamese fallback, a language CLDR does not know, the catalog workflow."""

from __future__ import annotations

import importlib
import io
import shutil
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
import flask_babel
import pytest
from babel import Locale
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from flask import Flask
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import IntegerField
from wtforms.validators import NumberRange

from survey.config import PROJECT_ROOT
from survey.i18n import (
    Languages,
    is_translated,
    kiosk_keys,
    kiosk_sources,
    message_key,
    text_language,
)
from survey.questionnaires import Questionnaire, QuestionnaireRegistry
from survey.translate import (
    KEYWORDS,
    extract_questionnaire,
    init_catalog,
    placeholder_problems,
    plural_forms_header,
    with_plural_forms,
)
from survey.wtforms_messages import TranslatedForm

TRANSLATIONS = PROJECT_ROOT / "translations"
TEST_CATALOGS = Path(__file__).parent / "data" / "translations"
SHIPPED = ("vi", "en")


def catalog(code: str, root: Path = TRANSLATIONS) -> Catalog:
    with (root / code / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp)


def save(cat: Catalog, root: Path, code: str) -> None:
    """Write a catalog as ``hailong translate update`` does (Plural-Forms kept)."""
    folder = root / code / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, cat, width=0)
    text = with_plural_forms(buffer.getvalue().decode("utf-8"),
                             f'"Plural-Forms: {cat.plural_forms}\\n"\n')
    (folder / "messages.po").write_text(text, encoding="utf-8")


def translated(code: str, msgid: str) -> str:
    """The shipped translation of ``msgid`` (an English UI msgid or a Vietnamese text)."""
    message = catalog(code).get(msgid)
    assert message is not None, f"{code}: {msgid!r} missing"
    assert message.string, f"{code}: {msgid!r} untranslated"
    return message.string if isinstance(message.string, str) else message.string[0]


def shown_texts(q: Questionnaire) -> list[str]:
    """Every questionnaire text the kiosk form shows."""
    return [q.title, q.intro, q.scale.missing, *(p.text for p in q.scale.points),
            *(e.name for e in q.elements), *(i.text for i in q.rating_items),
            *(d.text for d in q.demographics),
            *(o.text for d in q.demographics for o in d.options),
            *([q.comment.text] if q.comment else [])]


def registry() -> QuestionnaireRegistry:
    return QuestionnaireRegistry.load(PROJECT_ROOT / "forms")


def copy_shipped(tmp_path: Path) -> Path:
    """A translations directory with the shipped vi and en catalogs."""
    root = tmp_path / "translations"
    for code in SHIPPED:
        shutil.copytree(TRANSLATIONS / code, root / code)
    return root


def ium_catalog(translated_share: float | None = None) -> Catalog:
    """The test-only ium catalog; with a share, placeholders for that many kiosk strings.

    The placeholders are "[ium] " + the source, never a translation.
    """
    cat = catalog("ium", TEST_CATALOGS)
    if translated_share is None:
        return cat
    keys = sorted(kiosk_keys(catalog("vi")))
    done = {message_key(m) for m in cat if is_translated(m)}
    wanted = next(k for k in range(len(keys) + 1) if k / len(keys) >= translated_share)
    for message in catalog("vi"):
        if len(done & set(keys)) >= wanted:
            break
        key = message_key(message) if message.id else None
        if key in keys and key not in done:
            string = f"[ium] {key}"
            cat[message.id] = type(message)(
                message.id, (string,) if isinstance(message.id, tuple) else string)
            done.add(key)
    assert len(done & set(keys)) == wanted
    return cat


def with_ium(tmp_path: Path, cat: Catalog) -> Path:
    root = copy_shipped(tmp_path)
    save(cat, root, "ium")
    shutil.copy(TEST_CATALOGS / "ium" / "language.toml", root / "ium" / "language.toml")
    return root


# --- the shipped catalogs ---------------------------------------------------------------

def extracted_msgids() -> set[str]:
    """What ``hailong translate extract`` finds in the code today (in-process)."""
    with (PROJECT_ROOT / "babel.cfg").open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(list(KEYWORDS))}
    return {msgid if isinstance(msgid, str) else msgid[0]
            for _file, _line, msgid, _comments, _context in extract_from_dir(
                str(PROJECT_ROOT), method_map, options_map, keywords=keywords)}


def test_every_string_in_the_code_is_translated_in_vi_and_en() -> None:
    """Fails when a UI or questionnaire string is added but not translated.

    Fix: ``hailong translate extract && hailong translate update``, then
    translate the new entries in translations/vi and translations/en.
    """
    found = extracted_msgids()
    pot = {message_key(m) for m in catalog_file(TRANSLATIONS / "messages.pot") if m.id}
    assert found - pot == set(), "run `hailong translate extract` (messages.pot is stale)"
    for code in SHIPPED:
        done = {message_key(m) for m in catalog(code) if is_translated(m)}
        assert found - done == set(), f"translate these in translations/{code}"
        assert pot - done == set(), f"translate these in translations/{code}"


def catalog_file(path: Path) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp)


def test_vietnamese_catalog_is_the_source_with_one_plural_form() -> None:
    vi = catalog("vi")
    assert vi.num_plurals == 1
    for message in vi:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(strings) == 1 or not isinstance(message.id, tuple)
        for string in strings:
            assert string == unicodedata.normalize("NFC", string), message.id
        if any(location.startswith("forms/") for location, _ in message.locations):
            assert message.string == message.id, "questionnaire texts are Vietnamese already"


def test_english_catalog_translates_every_questionnaire_text() -> None:
    for q in registry():
        for text in q.texts():
            english = translated("en", text)
            # Only numbers (age bands) and proper names may read the same.
            assert english != text or text in {"Kinh"} or not text[0].isalpha(), text
    assert translated("en", "Rất không hài lòng") == "Very dissatisfied"
    assert translated("en", "Rất hài lòng") == "Very satisfied"
    assert translated("en", "Không trả lời") == "No answer"


def test_only_real_translations_ship() -> None:
    """Test-only placeholder catalogs never reach translations/."""
    assert not (TRANSLATIONS / "ium").exists()
    for folder in TRANSLATIONS.iterdir():
        if folder.is_dir():
            for message in catalog(folder.name):
                strings = message.string if isinstance(message.string, tuple) else (
                    message.string,)
                assert not any(s.startswith("[ium]") for s in strings if s)


def test_kiosk_strings_are_the_kiosk_blueprint_its_templates_forms_and_submissions() -> None:
    sources = kiosk_sources()
    assert "survey/kiosk/" in sources
    assert "forms/" in sources
    assert "survey/submissions.py" in sources
    assert "survey/templates/base.html" in sources  # extended by every kiosk page
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), source
        assert not source.startswith(("survey/dashboard/", "survey/admin/", "survey/export/"))
    keys = kiosk_keys(catalog("vi"))
    assert {"Send my rating", "Rất hài lòng", "Must be a UUID."} <= keys
    # Marked `# i18n: kiosk` in survey/wtforms_messages.py:
    assert "Field cannot be longer than %(max)d character." in keys
    assert "Not a valid integer value." not in keys
    assert "Log in" not in keys


# --- the kiosk --------------------------------------------------------------------------

def test_kiosk_offers_vietnamese_first_then_english(client: Any,
                                                    make_centre: Callable[..., Any]) -> None:
    make_centre("THU")
    page = client.get("/kiosk/THU").get_data(as_text=True)
    assert page.index("Tiếng Việt") < page.index("English")
    assert 'href="/kiosk/THU/vi' in page
    assert 'href="/kiosk/THU/en' in page


def test_kiosk_form_in_english_shows_english_questionnaire_and_scale(
        client: Any, make_centre: Callable[..., Any]) -> None:
    make_centre("SIP", questionnaire="sipas-service")
    response = client.get("/kiosk/SIP/en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="en">' in page
    q = registry().get("sipas-service", 1)
    assert q is not None
    for text in shown_texts(q):
        assert str(escape(translated("en", text))) in page, text
    for word in ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied",
                 "Very satisfied", "No answer", "Send my rating"):
        assert word in page
    for vietnamese in ("Rất hài lòng", "Không trả lời", "Gửi đánh giá", "Tiếp cận dịch vụ"):
        assert vietnamese not in page


def test_kiosk_form_in_vietnamese(client: Any, make_centre: Callable[..., Any]) -> None:
    make_centre("THU")
    page = client.get("/kiosk/THU/vi").get_data(as_text=True)
    assert '<html lang="vi">' in page
    for text in ("Rất không hài lòng", "Rất hài lòng", "Không trả lời", "Gửi đánh giá",
                 "Đánh giá nhanh sự hài lòng"):
        assert text in page
    assert "Send my rating" not in page


@pytest.mark.parametrize(("lang", "message"), [
    ("vi", "Lựa chọn không hợp lệ."),
    ("en", "Not a valid choice."),
])
def test_wtforms_messages_come_from_our_catalogs(
        client: Any, make_centre: Callable[..., Any],
        form_fields: Callable[..., dict[str, str]], lang: str, message: str) -> None:
    make_centre("THU")
    fields = form_fields(f"/kiosk/THU/{lang}")
    response = client.post(f"/kiosk/THU/{lang}", data={**fields, "item_q_access": "9"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_wtforms_plural_message_in_vietnamese(client: Any, make_centre: Callable[..., Any],
                                              form_fields: Callable[..., dict[str, str]]
                                              ) -> None:
    make_centre("THU")
    fields = form_fields("/kiosk/THU/vi")
    response = client.post("/kiosk/THU/vi", data={**fields, "item_q_access": "4",
                                                  "comment": "x" * 1001})
    assert response.status_code == 400
    assert "Không được dài quá 1000 ký tự." in response.get_data(as_text=True)


@pytest.mark.parametrize(("lang", "year", "message"), [
    ("vi", "1999", "Số phải nằm trong khoảng từ 2000 đến 2100."),
    ("vi", "năm", "Không phải là số nguyên hợp lệ."),
    ("en", "1999", "Number must be between 2000 and 2100."),
])
def test_staff_forms_get_wtforms_messages_from_our_catalogs(app: Flask, lang: str, year: str,
                                                             message: str) -> None:
    class YearForm(TranslatedForm):
        year = IntegerField(validators=[NumberRange(2000, 2100)])

    with app.test_request_context(f"/?lang={lang}", method="POST", data={"year": year}):
        app.preprocess_request()
        form = YearForm(meta={"csrf": False})
        assert not form.validate()
        assert form.errors["year"][0] == message


def test_every_form_gets_its_wtforms_messages_from_our_catalogs() -> None:
    """A new form deriving from FlaskForm directly would show WTForms' English."""
    for path in sorted((PROJECT_ROOT / "survey").glob("*/forms.py")):
        importlib.import_module(f"survey.{path.parent.name}.forms")

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    ours = [form for form in subclasses(FlaskForm) if form.__module__.startswith("survey.")]
    assert ours
    for form in ours:
        assert issubclass(form, TranslatedForm), f"{form.__module__}.{form.__name__}"


# --- the API ----------------------------------------------------------------------------

def test_api_questionnaire_in_english_and_vietnamese(client: Any) -> None:
    en = client.get("/api/v1/questionnaires/sipas-service/1?lang=en").get_json()
    vi = client.get("/api/v1/questionnaires/sipas-service/1?lang=vi").get_json()
    assert en["title"] == "Satisfaction with public administrative services"
    assert vi["title"] == "Đánh giá sự hài lòng về dịch vụ hành chính công"
    assert [p["text"] for p in en["scale"]["points"]] == [
        "Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]
    assert en["scale"]["missing"] == "No answer"
    assert vi["scale"]["missing"] == "Không trả lời"
    signage = {i["code"]: i["text"] for i in en["items"]}["access_signage"]
    assert signage == "Clear signs show the way to the desk that receives applications"
    by_header = client.get("/api/v1/questionnaires/sipas-service/1",
                           headers={"Accept-Language": "en-GB,en;q=0.8"}).get_json()
    assert by_header["title"] == en["title"]


@pytest.mark.parametrize(("query", "language", "error", "detail"), [
    ("", "vi", "Phiếu đánh giá không hợp lệ; chưa có dữ liệu nào được lưu.",
     "Phải là một mã UUID."),
    ("", "en", "The submission is not valid; nothing was stored.", "Must be a UUID."),
    ("?lang=en", "vi", "The submission is not valid; nothing was stored.", "Must be a UUID."),
])
def test_api_validation_errors_in_the_requested_language(
        client: Any, make_centre: Callable[..., Any],
        submit_payload: Callable[..., dict[str, Any]],
        query: str, language: str, error: str, detail: str) -> None:
    make_centre("THU")
    payload = submit_payload("THU", submission_id="not-a-uuid", language=language)
    response = client.post(f"/api/v1/responses{query}", json=payload)
    body = response.get_json()
    assert response.status_code == 400
    assert body["error"] == error
    assert {"field": "submission_id", "message": detail} in body["details"]


# --- fallback and the coverage rule -----------------------------------------------------

def test_missing_string_falls_back_to_vietnamese(tmp_path: Path, make_app: Callable[..., Flask],
                                                 make_centre: Callable[..., Any]) -> None:
    root = copy_shipped(tmp_path)
    en = catalog("en", root)
    del en["Send my rating"]
    del en["Rất hài lòng"]
    save(en, root, "en")
    app = make_app(TRANSLATIONS_DIR=str(root))
    make_centre("THU")
    assert app.extensions["hailong_languages"].get("en").kiosk_coverage >= 0.95
    page = app.test_client().get("/kiosk/THU/en").get_data(as_text=True)
    assert "Gửi đánh giá" in page
    assert "Send my rating" not in page
    assert "Rất hài lòng" in page
    assert "Very dissatisfied" in page
    with app.test_request_context("/kiosk/THU/en"):
        app.preprocess_request()
        assert text_language("Rất hài lòng") == "vi"
        assert text_language("Rất không hài lòng") == "en"


def test_tiny_ium_catalog_is_not_offered_on_the_kiosk(
        tmp_path: Path, make_app: Callable[..., Flask], make_centre: Callable[..., Any]) -> None:
    app = make_app(TRANSLATIONS_DIR=str(with_ium(tmp_path, ium_catalog())))
    make_centre("THU")
    languages = app.extensions["hailong_languages"]
    assert "ium" in languages.codes  # accepted by the API …
    assert [lang.code for lang in languages.kiosk()] == ["vi", "en"]  # … not on the kiosk
    client = app.test_client()
    assert "Iu Mienh" not in client.get("/kiosk/THU").get_data(as_text=True)
    assert client.get("/kiosk/THU/ium").status_code == 302


@pytest.mark.parametrize(("share", "offered"), [(0.95, True), (0.94, False)])
def test_ium_is_offered_exactly_from_95_percent(
        tmp_path: Path, make_app: Callable[..., Flask], make_centre: Callable[..., Any],
        share: float, offered: bool) -> None:
    cat = ium_catalog(0.95)
    if not offered:  # one kiosk string fewer than the threshold needs
        keys = kiosk_keys(catalog("vi"))
        victim = next(m for m in cat if m.id and message_key(m) in keys
                      and message_key(m) != "Send my rating")
        del cat[victim.id]
    app = make_app(TRANSLATIONS_DIR=str(with_ium(tmp_path, cat)))
    make_centre("THU")
    ium = app.extensions["hailong_languages"].get("ium")
    assert (ium.kiosk_coverage >= 0.95) is offered
    assert ium.kiosk_coverage == pytest.approx(share, abs=0.011)
    page = app.test_client().get("/kiosk/THU").get_data(as_text=True)
    assert ('href="/kiosk/THU/ium' in page) is offered
    assert ("Iu Mienh" in page) is offered


def test_ium_page_renders_with_vietnamese_fallback_and_formats(
        tmp_path: Path, make_app: Callable[..., Flask], make_centre: Callable[..., Any]) -> None:
    app = make_app(TRANSLATIONS_DIR=str(with_ium(tmp_path, ium_catalog(0.95))))
    make_centre("THU")
    client = app.test_client()
    response = client.get("/kiosk/THU/ium")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="ium">' in page
    assert "[ium] Send my rating" in page
    with app.test_request_context("/kiosk/THU/ium"):
        app.preprocess_request()
        assert flask_babel.get_locale() == Locale.parse("vi")
        assert flask_babel.format_decimal(1234.5) == "1.234,5"
        assert flask_babel.format_date(date(2026, 3, 1)) == format_date(
            date(2026, 3, 1), "medium", locale="vi")
        assert flask_babel.gettext("Send my rating") == "[ium] Send my rating"


def test_unknown_language_without_a_name_fails_at_start_up(tmp_path: Path) -> None:
    root = copy_shipped(tmp_path)
    save(ium_catalog(), root, "ium")
    with pytest.raises(ValueError, match="language.toml.*name"):
        Languages(root, 0.95)


# --- the catalog workflow ---------------------------------------------------------------

def test_translate_compile_passes(runner: Any) -> None:
    result = runner.invoke(args=["translate", "compile"])
    assert result.exit_code == 0, result.output


def test_placeholder_problems(tmp_path: Path) -> None:
    cat = Catalog(locale="en")
    cat.add("Hello %(name)s", "Hi %(name)s")
    cat.add("User %(name)s saved.", "User saved.")
    cat.add("At most %(max)d characters.", "At most %(max)d characters in %(field)s.")
    cat.add(("%(num)d second", "%(num)d seconds"), ("one second", "%(num)d seconds"))
    cat.add(("%(num)d day", "%(num)d days"), ("a day", "some days"))
    cat.add("Not translated %(x)s", "")
    path = tmp_path / "messages.po"
    with path.open("wb") as fp:
        write_po(fp, cat)
    problems = placeholder_problems(path)
    assert len(problems) == 3
    assert any("User %(name)s saved." in p for p in problems)
    assert any("At most %(max)d" in p for p in problems)
    assert any("%(num)d day" in p for p in problems)


def test_extractor_finds_every_questionnaire_text() -> None:
    forms = PROJECT_ROOT / "forms"
    found: dict[str, int] = {}
    for path in sorted(forms.rglob("*.toml")):
        with path.open("rb") as fp:
            for line, _func, text, comments in extract_questionnaire(fp, (), (), {}):
                assert line > 0, (path, text)
                assert comments
                found[text] = line
    pot = {message_key(m) for m in catalog_file(TRANSLATIONS / "messages.pot") if m.id}
    for q in registry():
        for text in q.texts():
            assert text in found, (q.id, text)
            assert text in pot, (q.id, text)


def test_update_keeps_the_plural_forms_of_a_language_cldr_does_not_know() -> None:
    source = (TEST_CATALOGS / "ium" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    header = plural_forms_header(source)
    assert header == '"Plural-Forms: nplurals=1; plural=0;\\n"\n'
    # What `pybabel update` writes for a locale CLDR does not know: no Plural-Forms.
    buffer = io.BytesIO()
    write_po(buffer, catalog("ium", TEST_CATALOGS))
    updated = buffer.getvalue().decode("utf-8")
    assert plural_forms_header(updated) is None
    restored = with_plural_forms(updated, header)
    assert read_po(io.BytesIO(restored.encode("utf-8"))).num_plurals == 1
    assert with_plural_forms(restored, header) == restored


def test_init_starts_a_catalog_for_a_language_cldr_does_not_know(tmp_path: Path) -> None:
    root = copy_shipped(tmp_path)
    shutil.copy(TRANSLATIONS / "messages.pot", root / "messages.pot")
    with pytest.raises(click.ClickException, match="--name"):
        init_catalog(root, "tyz")
    init_catalog(root, "tyz", name="Tày")
    with pytest.raises(click.ClickException, match="exists"):
        init_catalog(root, "tyz", name="Tày")
    tay = catalog("tyz", root)
    assert tay.num_plurals == 1
    assert tay.locale_identifier == "tyz"
    assert {message_key(m) for m in tay if m.id} == {
        message_key(m) for m in catalog_file(root / "messages.pot") if m.id}
    language = Languages(root, 0.95).get("tyz")
    assert language.name == "Tày"
    assert language.format_locale == "vi"
    assert language.kiosk_coverage == 0.0


def test_vietnamese_alphabetical_order() -> None:
    from survey.i18n import vietnamese_key

    shuffled = ["Zen", "Ưu", "Thử Nghiệm", "bạ", "Ơn", "Ân Thi", "Đoàn Kết", "bá", "Ôn",
                "Uy", "Ba", "An", "Dao", "bã", "On", "Ăn", "Bả", "bà"]
    assert sorted(shuffled, key=vietnamese_key) == [
        "An", "Ăn", "Ân Thi",  # a < ă < â
        "Ba", "bà", "Bả", "bã", "bá", "bạ",  # tones after letters: ngang huyền hỏi ngã sắc nặng
        "Dao", "Đoàn Kết",  # d < đ
        "On", "Ôn", "Ơn", "Thử Nghiệm", "Uy", "Ưu", "Zen"]
    # NFD input (as some keyboards send it) sorts like its NFC form.
    assert vietnamese_key(unicodedata.normalize("NFD", "Đoàn Kết"))[:2] == \
        vietnamese_key("Đoàn Kết")[:2]
