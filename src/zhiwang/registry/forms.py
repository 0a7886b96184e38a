"""Forms of the registry console: the list filters (GET parameters) and the reasons asked for a
whole ID number or a rejected declaration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from zhiwang.grids.models import GridNode
from zhiwang.registry.models import FacilityStatus, PersonKind, UnitKind

Choices = list[tuple[str, Any]]
ANY: Choices = [("", _("Any"))]

TAG_LABELS = {
    "special_population": _("Special population"),
    "key_youth": _("Key youth"),
    "elderly_alone": _("Elderly living alone"),
    "left_behind_child": _("Left-behind child"),
    "disabled": _("Person with a disability"),
    "low_income": _("Minimum living allowance"),
    "veteran": _("Veteran"),
}

# The residents' status filter: living here unless asked otherwise.
STATUS_CHOICES: Choices = [("", _("Living here")), ("moved_out", _("Moved out")), ("any", _("Any"))]
# The units' kind filter: one kind, or the three kinds of small venues (三小场所) together.
SMALL_VENUES = "small_venues"


def area_choices(areas: Sequence[GridNode]) -> Choices:
    return ANY + [(str(node.pk), f"{node.name} · {node.code}") for node in areas]


class AreaFilterForm(forms.Form):
    """A list filter whose `within` field names a grid node of the reader's scope."""

    within = forms.TypedChoiceField(label=_("Area"), required=False, coerce=int, empty_value=None)

    def __init__(self, data: Any, *, areas: Sequence[GridNode], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.areas = {node.pk: node for node in areas}
        if areas:
            self.fields["within"].choices = area_choices(areas)  # type: ignore[attr-defined]
        else:
            del self.fields["within"]

    def within_path(self) -> str:
        """The path of the chosen area ("" for none); call after `is_valid()`."""
        node = self.areas.get(self.cleaned_data.get("within") or 0)
        return node.path if node is not None else ""

    def is_filtering(self) -> bool:
        return any(value not in (None, "") for value in self.cleaned_data.values())


class ResidentFilterForm(AreaFilterForm):
    kind = forms.ChoiceField(label=_("Household registration"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    tag = forms.ChoiceField(label=_("Key group"), required=False)

    def __init__(self, data: Any, *, areas: Sequence[GridNode], show_tags: bool, **kwargs: Any) -> None:
        super().__init__(data, areas=areas, **kwargs)
        self.fields["kind"].choices = ANY + list(PersonKind.choices)  # type: ignore[attr-defined]
        if show_tags:
            self.fields["tag"].choices = ANY + list(TAG_LABELS.items())  # type: ignore[attr-defined]
        else:
            del self.fields["tag"]

    def status_value(self) -> str | None:
        """What `selectors.resident_list` takes: a status, or None for any."""
        chosen = self.cleaned_data.get("status") or ""
        return None if chosen == "any" else chosen or "active"


class PersonSearchForm(forms.Form):
    """A search by whole ID or phone number. It is posted, so that the numbers stay out of
    addresses, browser histories and access logs."""

    id_number = forms.CharField(label=_("ID number"), required=False, max_length=24)
    phone = forms.CharField(label=_("Phone number"), required=False, max_length=24)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "find")
        super().__init__(*args, **kwargs)
        self.fields["id_number"].widget.attrs.update(autocomplete="off", spellcheck="false")
        self.fields["phone"].widget.attrs.update(autocomplete="off", inputmode="tel")

    def is_searching(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in ("id_number", "phone"))


class UnitFilterForm(AreaFilterForm):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    enterprise_grid = forms.TypedChoiceField(
        label=_("Enterprise grid"), required=False, coerce=int, empty_value=None
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=100)

    def __init__(
        self, data: Any, *, areas: Sequence[GridNode], enterprise_grids: Sequence[GridNode], **kwargs: Any
    ) -> None:
        super().__init__(data, areas=areas, **kwargs)
        self.fields["kind"].choices = (  # type: ignore[attr-defined]
            [*ANY, (SMALL_VENUES, _("Small venues (三小场所)")), *UnitKind.choices]
        )
        if enterprise_grids:
            self.fields["enterprise_grid"].choices = area_choices(enterprise_grids)  # type: ignore[attr-defined]
        else:
            del self.fields["enterprise_grid"]


class FacilityFilterForm(AreaFilterForm):
    status = forms.ChoiceField(label=_("Status"), required=False)
    major_code = forms.RegexField(
        label=_("Major class"),
        required=False,
        regex=r"^\d{2}$",
        error_messages={"invalid": _("A major class is two digits, for example 02.")},
    )
    search = forms.CharField(label=_("Code or name"), required=False, max_length=100)

    def __init__(self, data: Any, *, areas: Sequence[GridNode], **kwargs: Any) -> None:
        super().__init__(data, areas=areas, **kwargs)
        self.fields["status"].choices = ANY + list(FacilityStatus.choices)  # type: ignore[attr-defined]


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need the whole numbers?"),
        min_length=2,
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason: it is kept in the audit log.")},
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the declarant"),
        min_length=2,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the declaration is rejected: the declarant reads it.")},
    )


# What the console imports, in the words of the page.
IMPORT_KIND_CHOICES: Choices = [
    ("persons", _("Residents")),
    ("places", _("Addresses, buildings and rooms")),
    ("units", _("Units (enterprises, shops, small venues)")),
    ("facilities", _("Facilities (部件)")),
]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=IMPORT_KIND_CHOICES)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GB18030) or Excel (.xlsx), the column names in the first row."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.xlsm"}),
    )
    mapping = forms.CharField(
        label=_("Other column names (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "room_code=房号编码\nname=户主姓名"}),
        help_text=_(
            "Only for columns the import does not recognise: one per line, the field, an equals sign, "
            "and the column's name in your file."
        ),
    )

    def clean_mapping(self) -> dict[str, str]:
        """`field=column` lines (full-width ＝ too) into the mapping the import takes."""
        mapping: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["mapping"].splitlines(), start=1):
            if not line.strip():
                continue
            field, sep, column = line.replace("＝", "=").partition("=")
            if not sep or not field.strip() or not column.strip():
                raise forms.ValidationError(
                    _("Line %(number)s is not a field, an equals sign and a column name."),
                    params={"number": number},
                    code="bad_mapping",
                )
            mapping[field.strip()] = column.strip()
        return mapping
