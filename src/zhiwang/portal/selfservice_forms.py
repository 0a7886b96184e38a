"""Forms of the residents' self-service: residence registration (居住登记), the landlord's or
tenant's declaration (自主申报), the room-code lookup (房屋编码查询) and following a declaration."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhiwang.cases.resident import mobile_number, phone_digits
from zhiwang.portal.forms import BAD_MOBILE, ChallengedForm
from zhiwang.registry.declarations import normal_code
from zhiwang.registry.models import InflowReason, PersonKind
from zhiwang.registry.validation import CodeError, check_id_number

BAD_ID_NUMBER = _("Enter the 18-character ID number as printed on the ID card.")


def _text(
    label: Any, max_length: int, *, required: bool = True, autocomplete: str = "off"
) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        error_messages={
            "required": _("This answer is needed."),
            "max_length": _("Keep it under %(limit_value)d characters."),
        },
        widget=forms.TextInput(attrs={"autocomplete": autocomplete}),
    )


def _mobile(label: Any, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=20,
        required=required,
        error_messages={"required": BAD_MOBILE, "max_length": BAD_MOBILE},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class DeclarationForm(ChallengedForm):
    """What every declaration asks: the room, the person living there and their ID number."""

    room_code = forms.CharField(
        label=_("Room code"),
        max_length=40,
        error_messages={"required": _("Enter the room code."), "max_length": _("Enter the room code.")},
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    name = _text(_("Your name"), 50, autocomplete="name")
    phone = _mobile(_("Your mobile number"))
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=30,
        error_messages={"required": BAD_ID_NUMBER, "max_length": BAD_ID_NUMBER},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    moved_in_on = forms.DateField(
        label=_("Moved in on (optional)"),
        required=False,
        error_messages={"invalid": _("Enter a date such as 2026-03-01.")},
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_room_code(self) -> str:
        return normal_code(self.cleaned_data["room_code"])

    def clean_phone(self) -> str:
        number = mobile_number(self.cleaned_data["phone"])
        if number is None:
            raise forms.ValidationError(BAD_MOBILE)
        return number

    def clean_id_number(self) -> str:
        try:
            return check_id_number(self.cleaned_data["id_number"])
        except CodeError as exc:
            raise forms.ValidationError(BAD_ID_NUMBER) from exc

    def clean_moved_in_on(self) -> date | None:
        day: date | None = self.cleaned_data.get("moved_in_on")
        if day is not None and not date(1900, 1, 1) <= day <= timezone.localdate():
            raise forms.ValidationError(_("The day of moving in lies in the past."))
        return day


class ResidenceForm(DeclarationForm):
    """居住登记: a migrant declares where they live."""

    inflow_reason = forms.ChoiceField(
        label=_("Why did you come here?"),
        choices=InflowReason.choices,
        initial=InflowReason.WORK,
        error_messages={"required": _("Choose a reason."), "invalid_choice": _("Choose a reason.")},
    )
    employer_name = _text(_("Employer or school (optional)"), 100, required=False)


class TenancyForm(DeclarationForm):
    """自主申报: a landlord declares a tenant in their room, or a tenant declares themselves."""

    LANDLORD, TENANT = "landlord", "tenant"

    declarant = forms.ChoiceField(
        label=_("You are"),
        choices=[
            (TENANT, _("The tenant, declaring myself")),
            (LANDLORD, _("The landlord, declaring a tenant")),
        ],
        initial=TENANT,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose who you are."), "invalid_choice": _("Choose who you are.")},
    )
    tenant_name = _text(_("The tenant's name (landlords only)"), 50, required=False)
    tenant_phone = _mobile(_("The tenant's mobile number (landlords only, optional)"), required=False)
    person_kind = forms.ChoiceField(
        label=_("The tenant's household registration"),
        choices=[
            (PersonKind.MIGRANT, _("Registered elsewhere (migrant)")),
            (PersonKind.REGISTERED, _("Registered in this city")),
        ],
        initial=PersonKind.MIGRANT,
        error_messages={"required": _("Choose one."), "invalid_choice": _("Choose one.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["id_number"].label = _("The tenant's ID number")

    def clean_tenant_phone(self) -> str:
        value = self.cleaned_data.get("tenant_phone", "")
        if not value:
            return ""
        number = mobile_number(value)
        if number is None:
            raise forms.ValidationError(BAD_MOBILE)
        return number

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("declarant") == self.LANDLORD and not str(cleaned.get("tenant_name", "")).strip():
            self.add_error("tenant_name", _("Enter the tenant's name."))
        return cleaned


class HouseCodeForm(forms.Form):
    address = _text(_("Street and door number"), 120, autocomplete="street-address")
    building = _text(_("Building"), 50)
    unit = _text(_("Unit (optional)"), 20, required=False)
    number = _text(_("Room number"), 20)


class FollowForm(forms.Form):
    code = forms.CharField(
        label=_("Declaration code"),
        max_length=20,
        error_messages={"required": _("Enter the declaration code you were given.")},
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("The phone number you gave, or its last 4 digits"),
        max_length=20,
        error_messages={"required": _("Enter your phone number or its last 4 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_code(self) -> str:
        return normal_code(self.cleaned_data["code"])

    def clean_phone(self) -> str:
        digits = phone_digits(self.cleaned_data["phone"])
        if len(digits) != 4 and len(digits) < 7:
            raise forms.ValidationError(_("Enter your phone number or its last 4 digits."))
        return digits
