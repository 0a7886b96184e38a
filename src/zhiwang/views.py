"""The front door: each signed-in user lands where their work is."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from zhiwang.accounts.models import Role
from zhiwang.accounts.permissions import scope_for

# The first role that matches picks the landing page; commanders, leaders and administrators get the map.
LANDINGS = (
    ({Role.CITY_COMMANDER, Role.TOWN_COMMANDER, Role.LEADER, Role.ADMINISTRATOR}, "grids:map"),
    ({Role.COMMUNITY_DISPATCHER, Role.DEPARTMENT_HANDLER}, "cases:queue"),
    ({Role.GRID_WORKER}, "field:shell"),
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    for roles, name in LANDINGS:
        if scope.is_superuser or scope.roles & roles:
            return HttpResponseRedirect(reverse(name))
    return HttpResponseRedirect(reverse("grids:map"))
