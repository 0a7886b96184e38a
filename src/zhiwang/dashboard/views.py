"""The command-center dashboard: headline KPIs, rankings and the 12-month trend of a grid node."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from zhiwang.common.errors import ApplicationError
from zhiwang.dashboard import selectors
from zhiwang.dashboard.forms import DashboardForm
from zhiwang.dashboard.templatetags.dashboard_format import percent

PERIOD_FIELDS = ("month", "start", "end", "rank")


def refusal_message(exc: ApplicationError) -> str:
    messages = {
        "dashboard_only": _("Only leaders and command centers see the dashboard of an area."),
        "not_found": _("There is no such grid in your area."),
        "no_role": _("Your account holds no role. Ask an administrator for one."),
    }
    return messages.get(exc.code, exc.message)


def _refusal(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "grids/refused.html", {"message": refusal_message(exc)}, status=exc.status)


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if not any(data.get(name) for name in ("month", "start", "end")):
        data["month"] = timezone.localdate().strftime("%Y-%m")
    form = DashboardForm(data)
    try:
        roots = selectors.dashboard_roots(actor=request.user)
    except ApplicationError as exc:
        return _refusal(request, exc)
    if not form.is_valid():
        return render(request, "dashboard/dashboard.html", {"form": form, "roots": roots}, status=400)
    if not roots and form.cleaned_data["node"] is None:
        message = _("Your account leads or commands no area yet. Ask an administrator for a role.")
        return render(request, "grids/refused.html", {"message": message}, status=403)
    try:
        node = selectors.dashboard_node(actor=request.user, grid_id=form.cleaned_data["node"] or roots[0].pk)
        figures = selectors.dashboard(
            actor=request.user, node=node, period=form.period(), measure=form.measure()
        )
        breadcrumbs = selectors.dashboard_breadcrumbs(actor=request.user, node=node)
    except ApplicationError as exc:
        return _refusal(request, exc)
    keep = urlencode({k: form.data[k] for k in PERIOD_FIELDS if form.data.get(k)})
    context = {
        "form": form,
        "roots": roots,
        "figures": figures,
        "breadcrumbs": breadcrumbs,
        "keep": keep,
        "headline": headline(figures),
        "charts": chart_data(figures),
    }
    return render(request, "dashboard/dashboard.html", context)


def headline(figures: selectors.Dashboard) -> list[tuple[str, str]]:
    """The headline cards: a label and a formatted figure each."""
    k = figures.headline
    hours = "—" if k.mean_handling_hours is None else f"{k.mean_handling_hours:.1f}"
    return [
        (_("Cases reported"), str(k.reported)),
        (_("Cases found"), str(k.found)),
        (_("Cases handled"), str(k.handled)),
        (_("Handling rate"), percent(k.handling_rate)),
        (_("On-time handling rate"), percent(k.on_time_handling_rate)),
        (_("Closure rate"), percent(k.closure_rate)),
        (_("On-time closure rate"), percent(k.on_time_closure_rate)),
        (_("Overdue cases"), str(k.overdue)),
        (_("Satisfaction rate"), percent(k.satisfaction_rate)),
        (_("Mean handling time (hours)"), hours),
    ]


def _percent_value(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def chart_data(figures: selectors.Dashboard) -> dict[str, Any]:
    """What the ECharts charts draw: the 12-month trend and the children's handling rates."""
    trend = figures.trend
    return {
        "trend": {
            "months": [m.month.strftime("%Y-%m") for m in trend],
            "reported": [m.reported for m in trend],
            "handled": [m.handled for m in trend],
            "handlingRate": [_percent_value(m.handling_rate) for m in trend],
            "onTimeRate": [_percent_value(m.on_time_handling_rate) for m in trend],
        },
        "children": {
            "names": [row.name for row in figures.children],
            "handlingRate": [_percent_value(row.handling_rate) for row in figures.children],
            "onTimeRate": [_percent_value(row.on_time_handling_rate) for row in figures.children],
        },
        "labels": {
            "reported": _("Cases reported"),
            "handled": _("Cases handled"),
            "handlingRate": _("Handling rate"),
            "onTimeRate": _("On-time handling rate"),
            "cases": _("Cases"),
            "rate": _("Rate (%)"),
        },
    }
