"""WTForms built at run time from a questionnaire (questionnaires are data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from wtforms import Field, HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length, Optional

from ..questionnaires import ChoiceItem, Questionnaire, RatingItem
from ..wtforms_messages import TranslatedForm

#: Channels a web form may claim; "paper" comes only from the paper import.
KIOSK_CHANNELS = ("kiosk", "tablet", "qr", "web")

#: The form value of the "Không trả lời / không áp dụng" button.
NO_ANSWER = "na"


class KioskForm(TranslatedForm):
    """Base of every questionnaire form: the hidden bookkeeping fields.

    Its WTForms messages come from hailong's catalogs (WTForms ships no Vietnamese).
    """

    submission_id = HiddenField()
    started_at = HiddenField()
    channel = HiddenField()


FieldFactory = Callable[[Any, Questionnaire], Field]


def _rating_field(item: RatingItem, questionnaire: Questionnaire) -> Field:
    choices = [SelectChoice(str(p.value), _(p.text)) for p in questionnaire.scale.points]
    choices.append(SelectChoice(NO_ANSWER, _(questionnaire.scale.missing)))
    return RadioField(_(item.text), choices=choices, validators=[Optional()])


def _choice_field(item: ChoiceItem, questionnaire: Questionnaire) -> Field:  # noqa: ARG001
    return RadioField(_(item.text), choices=[SelectChoice(o.code, _(o.text)) for o in item.options],
                      validators=[Optional()])


#: Item type → WTForms field (the field-type registry of STYLE.md §5).
FIELD_TYPES: dict[type, FieldFactory] = {
    RatingItem: _rating_field,
    ChoiceItem: _choice_field,
}


def build_form(questionnaire: Questionnaire) -> type[KioskForm]:
    """A form class for one questionnaire version, with texts in the current language."""
    attributes: dict[str, Any] = {}
    for item in (*questionnaire.rating_items, *questionnaire.demographics):
        attributes[f"item_{item.code}"] = FIELD_TYPES[type(item)](item, questionnaire)
    if questionnaire.comment:
        attributes["comment"] = TextAreaField(
            _(questionnaire.comment.text),
            validators=[Optional(), Length(max=questionnaire.comment.max_length)],
        )
    return type(f"Form_{questionnaire.id}_v{questionnaire.version}", (KioskForm,), attributes)


def form_payload(form: KioskForm, questionnaire: Questionnaire, centre_code: str,
                 language: str) -> dict[str, Any]:
    """The JSON-API shape of a posted kiosk form, for the shared validator."""

    def rating(code: str) -> int | None:
        value = form[f"item_{code}"].data
        return int(value) if value and value.isdigit() else None

    answers = {i.code: rating(i.code) for i in questionnaire.rating_items}
    demographics = {d.code: form[f"item_{d.code}"].data or None
                    for d in questionnaire.demographics}
    return {
        "submission_id": form.submission_id.data,
        "centre": centre_code,
        "questionnaire": questionnaire.id,
        "version": questionnaire.version,
        "language": language,
        "channel": form.channel.data or "kiosk",
        "started_at": form.started_at.data or None,
        "answers": answers,
        "demographics": demographics,
        "comment": form.comment.data if "comment" in form else None,
    }
