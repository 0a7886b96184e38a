"""The portal's forms. Every refusal is worded for residents and shown beside its field."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from zhiwang.cases.photos import MAX_PHOTO_BYTES, photo_extension
from zhiwang.cases.resident import mobile_number, normal_tracking_code, phone_digits
from zhiwang.common.errors import ValidationFailed
from zhiwang.portal import abuse
from zhiwang.portal.wording import REPORT_REFUSALS

PLACE_PIN = _("Place the pin on the map where the problem is.")
ANSWER_WITH_NUMBER = _("Answer the question with a number.")
BAD_MOBILE = _("Enter a mainland mobile number: 11 digits starting with 1.")
# Mainland China and its seas, loosely: a pin outside this box is a mistake.
LON_RANGE, LAT_RANGE = (73.0, 136.0), (3.0, 54.0)


def _location_field(bounds: tuple[float, float]) -> forms.FloatField:
    messages = {"required": PLACE_PIN, "invalid": PLACE_PIN, "min_value": PLACE_PIN, "max_value": PLACE_PIN}
    return forms.FloatField(
        min_value=bounds[0], max_value=bounds[1], widget=forms.HiddenInput, error_messages=messages
    )


class ChallengedForm(forms.Form):
    """A form a resident sends without an account: an arithmetic question signed with the form's
    idempotency key, a honeypot field and a minimum time to fill it (`abuse`)."""

    answer = forms.IntegerField(
        required=False,
        error_messages={"invalid": ANSWER_WITH_NUMBER},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    challenge = forms.CharField(required=False, widget=forms.HiddenInput)
    # A honeypot: hidden from people, filled in by form-filling machines.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checked: abuse.Challenge | None = None  # the challenge this form carried
        self.challenge_failed = False  # the answer was wrong or the form came from a machine
        self.answer_kept = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.checked = abuse.challenge_read(str(self.data.get("challenge", "")))
        if self.checked is None:
            self.add_error(
                "answer", _("The form was open too long. Answer the new question and send it again.")
            )
        elif cleaned.get("website") or abuse.filled_too_fast(self.checked):
            self.challenge_failed = True
            self.add_error(None, _("The form could not be checked. Wait a moment and send it again."))
        elif cleaned.get("answer") is None:
            if "answer" not in self.errors:  # empty, rather than not a number
                self.add_error("answer", ANSWER_WITH_NUMBER)
        elif cleaned["answer"] != self.checked.a + self.checked.b:
            self.challenge_failed = True
            self.add_error("answer", _("That answer is not right. Try the new question."))
        else:
            self.answer_kept = True
        return cleaned


class ReportForm(ChallengedForm):
    description = forms.CharField(
        label=_("What is the problem?"),
        max_length=2000,
        error_messages={
            "required": _("Describe the problem."),
            "max_length": _("Keep it under 2000 characters."),
        },
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "placeholder": _("For example: a pile of rubbish by the bus stop, for two days"),
            }
        ),
    )
    category = forms.ChoiceField(
        label=_("Kind of problem (optional)"),
        required=False,
        error_messages={"invalid_choice": _("Choose a category from the list, or leave it empty.")},
    )
    address = forms.CharField(
        label=_("Address or landmark (optional)"),
        required=False,
        max_length=200,
        error_messages={"max_length": _("Keep it under 200 characters.")},
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    lon = _location_field(LON_RANGE)
    lat = _location_field(LAT_RANGE)
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        error_messages={"invalid": _("Send a JPEG, PNG or WebP photo."), "empty": _("The photo is empty.")},
        widget=forms.FileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    name = forms.CharField(
        label=_("Your name (optional)"),
        required=False,
        max_length=60,
        error_messages={"max_length": _("Keep it under 60 characters.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        error_messages={"required": BAD_MOBILE, "max_length": BAD_MOBILE},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(
        self, *args: Any, categories: list[tuple[str, list[tuple[str, str]]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", _("Not sure: the staff will classify it"))]
        choices.extend((major, minors) for major, minors in categories)
        cast(forms.ChoiceField, self.fields["category"]).choices = choices

    def clean_phone(self) -> str:
        number = mobile_number(self.cleaned_data["phone"])
        if number is None:
            raise forms.ValidationError(BAD_MOBILE)
        return number

    def clean_photo(self) -> bytes | None:
        upload: UploadedFile | None = self.cleaned_data.get("photo")
        if not upload:
            return None
        if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
            raise forms.ValidationError(str(REPORT_REFUSALS["photo_too_large"][1]))
        content: bytes = upload.read()
        try:
            photo_extension(content)
        except ValidationFailed as exc:
            raise forms.ValidationError(str(REPORT_REFUSALS[exc.code][1])) from exc
        return content


class TrackForm(forms.Form):
    code = forms.CharField(
        label=_("Tracking code"),
        max_length=20,
        error_messages={"required": _("Enter the tracking code you were given.")},
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("The phone number you gave, or its last 4 digits"),
        max_length=20,
        error_messages={"required": _("Enter your phone number or its last 4 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_code(self) -> str:
        return normal_tracking_code(self.cleaned_data["code"])

    def clean_phone(self) -> str:
        digits = phone_digits(self.cleaned_data["phone"])
        if len(digits) != 4 and len(digits) < 7:
            raise forms.ValidationError(_("Enter your phone number or its last 4 digits."))
        return digits


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with the outcome?"),
        coerce=int,
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose from 1 to 5 stars."),
            "invalid_choice": _("Choose from 1 to 5 stars."),
        },
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=300,
        error_messages={"max_length": _("Keep it under 300 characters.")},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
