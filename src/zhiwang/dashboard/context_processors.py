"""Template context for the navigation: whether the signed-in user may open the dashboard.

Enable with "zhiwang.dashboard.context_processors.dashboard" in TEMPLATES' context processors, then
show the link with `{% if can_read_dashboard %}` in base.html.
"""

from __future__ import annotations

from django.http import HttpRequest

from zhiwang.accounts.permissions import scope_for
from zhiwang.dashboard.permissions import DASHBOARD_ROLES


def dashboard(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_read_dashboard": False}
    return {"can_read_dashboard": scope_for(user).has_role(DASHBOARD_ROLES)}
