"""Console pages of the case workflow: the work queues and the case page with its actions.

Thin: every read goes through `cases.selectors`, every action through the same service the REST
API calls. htmx swaps the results table and the case's action panel and timeline; without
JavaScript the filter is a plain GET form and every action a POST that redirects back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from zhiwang.accounts.models import Role
from zhiwang.accounts.permissions import Scope, require_staff_role
from zhiwang.cases import clock, selectors, services, whistles
from zhiwang.cases import forms as case_forms
from zhiwang.cases.models import Case, CaseEvent, Light, Status
from zhiwang.cases.permissions import allowed_actions
from zhiwang.common.console import guarded, is_htmx
from zhiwang.common.errors import ApplicationError, NotFound, ValidationFailed
from zhiwang.common.origin import Origin, origin_from_request
from zhiwang.grids.models import GridNode, path_ids
from zhiwang.grids.selectors import grid_list
from zhiwang.taxonomy.selectors import Branch, category_tree
from zhiwang.workcalendar.hours import WorkingCalendar
from zhiwang.workcalendar.selectors import working_calendar

PAGE_SIZE = 25

QUEUE_LABELS = {
    "to_accept": gettext_lazy("To accept"),
    "to_dispatch": gettext_lazy("To dispatch"),
    "to_sign": gettext_lazy("To sign"),
    "in_hand": gettext_lazy("In hand"),
    "overdue": gettext_lazy("Overdue"),
    "to_verify": gettext_lazy("To verify"),
    "to_revisit": gettext_lazy("To revisit"),
    "parked": gettext_lazy("Parked"),
    "open": gettext_lazy("All open"),
}
COMMAND_QUEUES = ("to_accept", "to_dispatch", "overdue", "to_revisit", "parked", "open")
ROLE_QUEUES: dict[str, tuple[str, ...]] = {
    Role.GRID_WORKER: ("to_verify", "open"),
    Role.COMMUNITY_DISPATCHER: ("to_accept", "to_dispatch", "to_sign", "in_hand", "overdue", "to_revisit"),
    Role.TOWN_COMMANDER: COMMAND_QUEUES,
    Role.CITY_COMMANDER: COMMAND_QUEUES,
    Role.DEPARTMENT_HANDLER: ("to_sign", "in_hand", "overdue"),
    Role.LEADER: ("overdue", "open"),
    Role.ADMINISTRATOR: ("overdue", "open"),
}
ACTION_LABELS = {
    "accept": gettext_lazy("Accept"),
    "reject": gettext_lazy("Reject"),
    "merge": gettext_lazy("Merge into another case"),
    "dispatch": gettext_lazy("Dispatch"),
    "sign": gettext_lazy("Sign for it"),
    "return": gettext_lazy("Return it"),
    "request_extension": gettext_lazy("Request an extension"),
    "decide_extension": gettext_lazy("Decide the extension"),
    "park": gettext_lazy("Park"),
    "unpark": gettext_lazy("Unpark"),
    "handle": gettext_lazy("Report the handling"),
    "verify": gettext_lazy("Record the check"),
    "revisit": gettext_lazy("Record the follow-up visit"),
    "supervise": gettext_lazy("Supervise"),
    "whistle": gettext_lazy("Blow the whistle"),
}
EVENT_LABELS = {
    "report": gettext_lazy("Report filed"),
    "self_handle": gettext_lazy("Handled on the spot"),
    "open311_update": gettext_lazy("Update from the reporter (Open311)"),
    "accept": gettext_lazy("Accepted"),
    "reject": gettext_lazy("Rejected"),
    "merge": gettext_lazy("Merged"),
    "absorb": gettext_lazy("Absorbed a duplicate"),
    "dispatch": gettext_lazy("Dispatched"),
    "sign": gettext_lazy("Signed for"),
    "return": gettext_lazy("Returned"),
    "request_extension": gettext_lazy("Extension requested"),
    "approve_extension": gettext_lazy("Extension approved"),
    "refuse_extension": gettext_lazy("Extension refused"),
    "park": gettext_lazy("Parked"),
    "unpark": gettext_lazy("Unparked"),
    "handle": gettext_lazy("Handling reported"),
    "verify_pass": gettext_lazy("Check passed"),
    "verify_fail": gettext_lazy("Check failed"),
    "close": gettext_lazy("Closed"),
    "reopen": gettext_lazy("Reopened"),
    "supervise": gettext_lazy("Supervised"),
    "photo": gettext_lazy("Photo added"),
    "warn": gettext_lazy("Deadline warning"),
    "escalate": gettext_lazy("Escalated"),
    "whistle": gettext_lazy("Whistle blown"),
}
# Timeline data worth showing, in this order.
EVENT_DATA_LABELS = {
    "category": gettext_lazy("category"),
    "to": gettext_lazy("to"),
    "by": gettext_lazy("by"),
    "into": gettext_lazy("into"),
    "merged": gettext_lazy("merged"),
    "rating": gettext_lazy("rating"),
    "amount": gettext_lazy("amount"),
    "level": gettext_lazy("level"),
    "departments": gettext_lazy("departments"),
}
ERROR_MESSAGES = {
    "category_required": gettext_lazy("Choose a minor category before accepting the case."),
    "bad_category": gettext_lazy("Choose an active minor category."),
    "reason_required": gettext_lazy("Give a reason: it goes on the timeline."),
    "result_required": gettext_lazy("Describe what was done."),
    "bad_merge": gettext_lazy("A case cannot be merged into itself."),
    "merge_target_unknown": gettext_lazy("You can see no case with this number."),
    "target_closed": gettext_lazy("Merge only into an open case."),
    "bad_target": gettext_lazy("Dispatch to a department or to a community, not both."),
    "bad_department": gettext_lazy("Choose active departments."),
    "bad_community": gettext_lazy("Dispatch only to the community the case lies in."),
    "no_route": gettext_lazy("No routing rule or department fits this case: choose where it goes."),
    "bad_extension": gettext_lazy("Ask for a positive number of working hours or days."),
    "extension_pending": gettext_lazy("An extension request is already waiting for a decision."),
    "no_pending_extension": gettext_lazy("No extension request is waiting for a decision."),
    "bad_rating": gettext_lazy("A rating runs from 1 to 5."),
    "no_departments": gettext_lazy("Choose the departments to summon."),
    "summary_required": gettext_lazy("Say what the departments are summoned for."),
    "case_closed": gettext_lazy("Whistles are blown for open cases only."),
    "no_role": gettext_lazy("Your account holds no role. Ask an administrator for one."),
}
STATUS_ERRORS = {
    400: gettext_lazy("The input was not accepted. Check it and try again."),
    403: gettext_lazy("Your role may not take this action on this case."),
    404: gettext_lazy("No such case."),
    409: gettext_lazy("The case has changed meanwhile. Reload it and try again."),
}


def error_text(exc: ApplicationError) -> str:
    """The console's wording for a refusal, in the reader's language."""
    if exc.code == "illegal_transition":
        status = (exc.details or {}).get("status", "")
        label = Status(status).label if status in Status.values else status
        text = _("Someone acted on this case first: it is now “%(status)s”. The actions shown are open.")
        return text % {"status": label}
    message = ERROR_MESSAGES.get(exc.code) or STATUS_ERRORS.get(exc.status, STATUS_ERRORS[400])
    return str(message)


def refused(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "cases/refused.html", {"message": error_text(exc)}, status=exc.status)


# Signed-in users; a case out of scope is a 404, any other refusal a page saying why.
console_view = guarded(refused)


# --- the work queues --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    case: Case
    light: str

    @property
    def light_label(self) -> str:
        return str(case_forms.LIGHT_LABELS[Light(self.light)])


def queues_for(scope: Scope) -> list[str]:
    if scope.is_superuser:
        return list(selectors.QUEUE_ORDER)
    wanted = {queue for role in scope.roles for queue in ROLE_QUEUES.get(role, ())}
    return [queue for queue in selectors.QUEUE_ORDER if queue in wanted]


def filter_areas(request: HttpRequest, scope: Scope) -> list[GridNode]:
    """Subtrees to filter by: towns and communities, and base grids for community-level staff."""
    levels = ["town", "community"]
    roots = scope.paths()
    if roots and min(len(path_ids(p)) for p in roots) >= 3:
        levels.append("grid")
    nodes = (
        grid_list(actor=request.user, layer="admin")
        .filter(level__in=levels)
        .select_related(None)
        .only("id", "code", "name", "level", "path")
    )
    return list(nodes)


def filtered_cases(
    request: HttpRequest, form: case_forms.QueueFilterForm, queue: str, areas: dict[int, GridNode]
) -> QuerySet[Case]:
    data = form.cleaned_data if form.is_valid() else {}
    since, until = form.period() if form.is_valid() else (None, None)
    within = areas.get(data["within"]) if data.get("within") else None
    return selectors.case_queue(
        actor=request.user,
        queue=queue,
        status=data.get("status") or None,
        light=data.get("light") or None,
        category=data.get("category") or None,
        within_path=within.path if within else None,
        channel=data.get("channel") or None,
        since=since,
        until=until,
    )


def rows_of(cases: Iterable[Case], now: datetime, calendar: WorkingCalendar) -> list[Row]:
    return [Row(case=c, light=clock.light(c, now, calendar)) for c in cases]


@console_view
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    scope = require_staff_role(request.user)
    queues = queues_for(scope)
    requested = request.GET.get("queue", "")
    queue = requested if requested in selectors.QUEUE_ORDER else (queues[0] if queues else "open")
    areas = filter_areas(request, scope)
    form = case_forms.QueueFilterForm(request.GET, categories=category_tree(), areas=areas)
    cases = filtered_cases(request, form, queue, {a.pk: a for a in areas})
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    counts = selectors.queue_counts(actor=request.user, queues=queues, now=now)
    context = {
        "form": form,
        "queue": queue,
        "queue_label": QUEUE_LABELS[queue],
        "tabs": [(name, QUEUE_LABELS[name], counts[name]) for name in queues],
        "page": page,
        "rows": rows_of(page.object_list, now, working_calendar()),
        "filtering": form.is_valid() and form.is_filtering(),
    }
    template = "cases/_results.html" if is_htmx(request) else "cases/queue.html"
    return render(request, template, context)


# --- the case page ----------------------------------------------------------------------------


@dataclass
class ActionItem:
    name: str
    label: str
    form: forms.Form
    open: bool = False

    @property
    def has_fields(self) -> bool:
        return bool(self.form.fields)


@dataclass
class Failure:
    """An action that was refused: its bound form (nothing typed is lost) and why."""

    action: str
    form: forms.Form
    message: str
    status: int


class PageParts:
    """What the case page needs beyond the case, each part loaded only when an action asks for it."""

    def __init__(self, request: HttpRequest, case: Case) -> None:
        self.actor = request.user
        self.case = case
        self.pending = selectors.pending_extension(case)
        self.actions = allowed_actions(self.actor, case, pending_extension=self.pending is not None)

    @functools.cached_property
    def categories(self) -> list[Branch]:
        return category_tree()

    @functools.cached_property
    def options(self) -> selectors.DispatchOptions:
        suggest = "dispatch" in self.actions
        return selectors.dispatch_options(actor=self.actor, case=self.case, suggest=suggest)

    def form(self, action: str, data: Any = None) -> forms.Form:
        """The form of `action`, bound to `data` when given; field names carry the action as prefix."""
        kwargs: dict[str, Any] = {"prefix": action}
        if action == "accept":
            kwargs["categories"] = self.categories
        elif action == "dispatch":
            kwargs.update(departments=self.options.departments, community=self.options.community)
        elif action == "whistle":
            kwargs["departments"] = self.options.departments
        return ACTION_FORMS[action](data, **kwargs)


def action_items(parts: PageParts, failure: Failure | None) -> list[ActionItem]:
    items = []
    for action in parts.actions:
        failed = failure is not None and failure.action == action
        form = failure.form if failure is not None and failed else parts.form(action)
        items.append(ActionItem(action, str(ACTION_LABELS[action]), form, open=failed))
    return items


def event_details(event: CaseEvent) -> list[str]:
    details = []
    for key, label in EVENT_DATA_LABELS.items():
        value = event.data.get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            value = "、".join(str(v) for v in value)
        details.append(f"{label}: {value}")
    return details


def status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value


def timeline_of(case: Case) -> list[dict[str, Any]]:
    return [
        {
            "event": event,
            "label": EVENT_LABELS.get(event.kind, event.kind),
            "change": (
                f"{status_label(event.from_status)} → {status_label(event.to_status)}"
                if event.from_status and event.from_status != event.to_status
                else ""
            ),
            "details": event_details(event),
        }
        for event in selectors.case_timeline(case)
    ]


def suggestion_text(parts: PageParts) -> str:
    found = parts.options.suggestion if "dispatch" in parts.actions else None
    if found is None:
        return ""
    target = found.department.name if found.department else found.community.name if found.community else ""
    why = {
        "routing": _("an administrator's routing rule"),
        "overlay": _("it answers for the overlay grid here"),
        "handled": _("the community settles such matters itself"),
        "department": _("the nearest department of the category's kind"),
    }
    reason = next((text for key, text in why.items() if found.reason.startswith(key)), found.reason)
    return _("Routing suggests %(target)s (%(reason)s).") % {"target": target, "reason": reason}


def case_context(request: HttpRequest, case: Case, failure: Failure | None = None) -> dict[str, Any]:
    parts = PageParts(request, case)
    now = timezone.now()
    outline = selectors.case_grid_outline(case)
    light = clock.light(case, now)
    return {
        "case": case,
        "light": light,
        "light_label": case_forms.LIGHT_LABELS[Light(light)],
        "escalation": [_("community"), _("town"), _("city")][min(case.escalation_level, 2)],
        "overlays": selectors.case_overlay_codes(case),
        "photos": list(selectors.case_photos(case)),
        "pending": parts.pending,
        "items": action_items(parts, failure),
        "failure": failure,
        "failure_hidden": failure is not None and failure.action not in parts.actions,
        "suggestion": suggestion_text(parts),
        "can_merge": "merge" in parts.actions,
        "duplicates": selectors.duplicate_candidates(actor=request.user, case=case) if case.is_open else [],
        "timeline": timeline_of(case),
        "map_config": {
            "lon": case.lon,
            "lat": case.lat,
            "outline": outline,
            "tileUrl": settings.ZHIWANG_TILE_URL,
            "tileAttribution": settings.ZHIWANG_TILE_ATTRIBUTION,
        },
    }


@console_view
@require_GET
def case_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get(actor=request.user, case_id=case_id)
    return render(request, "cases/case.html", case_context(request, case))


@console_view
@require_GET
def photo_view(request: HttpRequest, case_id: int, photo_id: int) -> HttpResponseBase:
    photo = selectors.photo_get(actor=request.user, case_id=case_id, photo_id=photo_id)
    try:
        return FileResponse(photo.file.open("rb"))
    except FileNotFoundError as exc:
        raise Http404("The photo's file is missing.") from exc


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    actor: Any
    case_id: int
    origin: Origin
    data: dict[str, Any]


def merge_into(act: Act) -> Case:
    try:
        into_id = selectors.case_id_by_number(actor=act.actor, number=act.data["into"])
    except NotFound as exc:
        raise ValidationFailed("No such case to merge into.", code="merge_target_unknown") from exc
    return services.case_merge(
        actor=act.actor, case_id=act.case_id, into_id=into_id, note=act.data["note"], origin=act.origin
    )


def common(act: Act) -> dict[str, Any]:
    return {"actor": act.actor, "case_id": act.case_id, "origin": act.origin}


PERFORM: dict[str, Callable[[Act], object]] = {
    "accept": lambda a: services.case_accept(
        **common(a), category_code=a.data["category"] or None, note=a.data["note"]
    ),
    "reject": lambda a: services.case_reject(**common(a), reason=a.data["reason"]),
    "merge": merge_into,
    "dispatch": lambda a: services.case_dispatch(
        **common(a),
        department_id=a.data["department_id"],
        community_id=a.data["community_id"],
        note=a.data["note"],
    ),
    "sign": lambda a: services.case_sign(**common(a)),
    "return": lambda a: services.case_return(**common(a), reason=a.data["reason"]),
    "request_extension": lambda a: services.case_request_extension(
        **common(a), amount=a.data["amount"], unit=a.data["unit"], reason=a.data["reason"]
    ),
    "decide_extension": lambda a: services.case_decide_extension(
        **common(a), approve=a.data["decision"] == "approve", note=a.data["note"]
    ),
    "park": lambda a: services.case_park(**common(a), reason=a.data["reason"]),
    "unpark": lambda a: services.case_unpark(**common(a), note=a.data["note"]),
    "handle": lambda a: services.case_handle(**common(a), result=a.data["result"]),
    "verify": lambda a: services.case_verify(
        **common(a), passed=a.data["outcome"] == "pass", note=a.data["note"]
    ),
    "revisit": lambda a: services.case_revisit(
        **common(a), rating=a.data["rating"], comment=a.data["comment"]
    ),
    "supervise": lambda a: services.case_supervise(**common(a), note=a.data["reason"]),
    "whistle": lambda a: whistles.whistle_blow(
        actor=a.actor,
        case_id=a.case_id,
        origin=a.origin,
        level=a.data["level"],
        department_ids=a.data["departments"],
        summary=a.data["summary"],
    ),
}
ACTION_FORMS: dict[str, type[forms.Form]] = {
    "accept": case_forms.AcceptForm,
    "reject": case_forms.ReasonForm,
    "merge": case_forms.MergeForm,
    "dispatch": case_forms.DispatchForm,
    "sign": case_forms.EmptyForm,
    "return": case_forms.ReasonForm,
    "request_extension": case_forms.ExtensionForm,
    "decide_extension": case_forms.DecideExtensionForm,
    "park": case_forms.ReasonForm,
    "unpark": case_forms.NoteForm,
    "handle": case_forms.HandleForm,
    "verify": case_forms.VerifyForm,
    "revisit": case_forms.RevisitForm,
    "supervise": case_forms.SuperviseForm,
    "whistle": case_forms.WhistleForm,
}


def render_live(request: HttpRequest, case: Case, failure: Failure | None = None) -> HttpResponse:
    """The case page, or for htmx its action panel with the facts and timeline swapped alongside."""
    context = case_context(request, case, failure)
    status = failure.status if failure else 200
    if is_htmx(request):
        return render(request, "cases/_live.html", {**context, "oob": True}, status=status)
    return render(request, "cases/case.html", context, status=status)


def after_success(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    messages.success(request, _("Done: %(action)s.") % {"action": ACTION_LABELS[action]})
    try:
        case = selectors.case_get(actor=request.user, case_id=case_id)
    except NotFound:  # the action took the case out of this user's sight (a return, say)
        target = reverse("cases:queue")
        if is_htmx(request):
            return HttpResponse(status=204, headers={"HX-Redirect": target})
        return HttpResponseRedirect(target)
    if is_htmx(request):
        return render_live(request, case)
    return HttpResponseRedirect(reverse("cases:case", args=[case_id]))


@console_view
@require_POST
def action_view(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    if action not in PERFORM:
        raise Http404("No such action.")
    case = selectors.case_get(actor=request.user, case_id=case_id)
    form = PageParts(request, case).form(action, request.POST)
    if not form.is_valid():
        failure = Failure(action, form, _("Check the highlighted fields."), 400)
        return render_live(request, case, failure)
    act = Act(request.user, case.pk, origin_from_request(request), form.cleaned_data)
    try:
        PERFORM[action](act)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        case = selectors.case_get(actor=request.user, case_id=case_id)
        return render_live(request, case, Failure(action, form, error_text(exc), exc.status))
    return after_success(request, case_id, action)
