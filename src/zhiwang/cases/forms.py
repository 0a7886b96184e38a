"""Forms of the case console: the queue filter and one small form per workflow action."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhiwang.accounts.models import Department
from zhiwang.cases.models import Channel, Light, Status, WhistleLevel
from zhiwang.grids.models import GridNode
from zhiwang.taxonomy.selectors import Branch

Choices = list[tuple[str, Any]]
ANY: Choices = [("", _("Any"))]

LIGHT_LABELS = {
    Light.GREEN: _("On time"),
    Light.YELLOW: _("Due soon"),
    Light.RED: _("Overdue"),
    Light.STOPPED: _("Clock stopped"),
    Light.NONE: _("No deadline"),
}


def category_choices(tree: Sequence[Branch], *, majors: bool) -> Choices:
    """大类 → 小类 as option groups; with `majors`, a 大类 itself can be chosen too."""
    choices: Choices = []
    for branch in tree:
        minors = [(c.code, f"{c.code} {c.name}") for c in branch.minors]
        if majors:
            minors.insert(0, (branch.major.code, f"{branch.major.code} {branch.major.name}"))
        if minors:
            choices.append((f"{branch.major.code} {branch.major.name}", minors))
    return choices


def local_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class QueueFilterForm(forms.Form):
    """The filters above a work queue; every field is optional and a GET parameter."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    light = forms.ChoiceField(label=_("Deadline"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    within = forms.TypedChoiceField(label=_("Area"), required=False, coerce=int, empty_value=None)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    since = forms.DateField(
        label=_("Reported from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Reported until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self, data: Any, *, categories: Sequence[Branch], areas: Sequence[GridNode], **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        self.fields["status"].choices = ANY + list(Status.choices)  # type: ignore[attr-defined]
        self.fields["light"].choices = ANY + [  # type: ignore[attr-defined]
            (value, LIGHT_LABELS[Light(value)]) for value in Light.values if value != Light.NONE
        ]
        self.fields["category"].choices = ANY + category_choices(categories, majors=True)  # type: ignore[attr-defined]
        self.fields["within"].choices = ANY + [  # type: ignore[attr-defined]
            (str(node.pk), f"{node.name} · {node.code}") for node in areas
        ]
        self.fields["channel"].choices = ANY + list(Channel.choices)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end of the period comes before its start."))
        return cleaned

    def period(self) -> tuple[datetime | None, datetime | None]:
        """[since, until) as local datetimes: the `until` day is included whole."""
        since = self.cleaned_data.get("since")
        until = self.cleaned_data.get("until")
        return (
            local_start(since) if since else None,
            local_start(until + timedelta(days=1)) if until else None,
        )

    def is_filtering(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.fields)


# --- one form per action ----------------------------------------------------------------------


def note_field() -> forms.CharField:
    return forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


def reason_field(label: Any = None) -> forms.CharField:
    return forms.CharField(
        label=label or _("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class EmptyForm(forms.Form):
    """An action that needs nothing but the click (sign)."""


class NoteForm(forms.Form):
    note = note_field()


class ReasonForm(forms.Form):
    reason = reason_field()


class SuperviseForm(forms.Form):
    reason = reason_field(_("What is expected"))


class AcceptForm(forms.Form):
    category = forms.ChoiceField(label=_("Minor category"), required=False)
    note = note_field()

    def __init__(self, *args: Any, categories: Sequence[Branch], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("Keep the reported category")), *category_choices(categories, majors=False)]
        self.fields["category"].choices = choices  # type: ignore[attr-defined]


class MergeForm(forms.Form):
    into = forms.CharField(label=_("Number of the case to merge into"), max_length=24)
    note = note_field()


class DispatchForm(forms.Form):
    target = forms.ChoiceField(label=_("Dispatch to"), required=False)
    note = note_field()

    def __init__(
        self,
        *args: Any,
        departments: Sequence[Department],
        community: GridNode | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices: Choices = [("", _("Where routing sends it"))]
        choices += [(f"department:{d.pk}", d.name) for d in departments]
        if community is not None:
            choices.append(
                (f"community:{community.pk}", _("%(name)s (the community itself)") % {"name": community.name})
            )
        self.fields["target"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """`target` ("department:3", "community:9" or empty) becomes `department_id`/`community_id`."""
        cleaned = super().clean() or {}
        kind, _sep, pk = str(cleaned.get("target") or "").partition(":")
        cleaned["department_id"] = int(pk) if kind == "department" else None
        cleaned["community_id"] = int(pk) if kind == "community" else None
        return cleaned


class ExtensionForm(forms.Form):
    amount = forms.FloatField(label=_("Extra time"), max_value=365)
    unit = forms.ChoiceField(
        label=_("Unit"), choices=[("working_days", _("working days")), ("working_hours", _("working hours"))]
    )
    reason = reason_field()


class DecideExtensionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("refuse", _("Refuse"))],
        widget=forms.RadioSelect,
    )
    note = note_field()


class HandleForm(forms.Form):
    result = forms.CharField(
        label=_("What was done"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class VerifyForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("pass", _("Fixed")), ("fail", _("Not fixed"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Findings (required when not fixed)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RevisitForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[
            ("5", _("5 · very satisfied")),
            ("4", _("4 · satisfied")),
            ("3", _("3 · acceptable")),
            ("2", _("2 · dissatisfied")),
            ("1", _("1 · very dissatisfied")),
        ],
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=300)


class WhistleForm(forms.Form):
    level = forms.ChoiceField(label=_("Whistle"), choices=WhistleLevel.choices)
    departments = forms.TypedMultipleChoiceField(
        label=_("Departments to summon"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    summary = forms.CharField(
        label=_("Summoned for"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, departments: Sequence[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["departments"].choices = [(str(d.pk), d.name) for d in departments]  # type: ignore[attr-defined]
