"""The dashboard's choice of grid node, period and ranking measure (query parameters)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhiwang.dashboard.selectors import Period

FIRST_YEAR, LAST_YEAR = 2000, 2100


class DashboardForm(forms.Form):
    node = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    month = forms.DateField(
        label=_("Month"),
        required=False,
        input_formats=["%Y-%m"],
        error_messages={"invalid": _("Enter a month as YYYY-MM, for example 2026-03.")},
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    start = forms.DateField(
        label=_("From"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    rank = forms.ChoiceField(
        label=_("Rank by"),
        required=False,
        choices=[
            ("handling", _("Handling rate")),
            ("on_time", _("On-time handling rate")),
            ("reported", _("Cases reported")),
        ],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("month", "start", "end"):
            day = data.get(name)
            if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
                self.add_error(name, _("Choose a day between the years 2000 and 2100."))
                data[name] = None
        start, end = data.get("start"), data.get("end")
        if (start is None) != (end is None) and not self.has_error("start") and not self.has_error("end"):
            raise forms.ValidationError(_("Give both the first and the last day, or choose a month."))
        if start and end and start > end:
            raise forms.ValidationError(_("The first day comes after the last day."))
        return data

    def period(self) -> Period:
        """The days chosen (both ends included), else the month chosen, else the current month."""
        data = self.cleaned_data
        if data.get("start") and data.get("end"):
            return Period.of_days(data["start"], data["end"])
        month: date = data.get("month") or timezone.localdate()
        return Period.of_month(month.year, month.month)

    def measure(self) -> str:
        return str(self.cleaned_data.get("rank") or "handling")
