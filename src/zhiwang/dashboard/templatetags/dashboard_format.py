"""Number formats of the dashboard."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """0.9508 → "95.1%"; no rate (nothing to divide by) → "—"."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}%"


@register.filter
def hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}"
