"""Console pages of the base-data registry (二标四实): residents, a person's record, a community's
residents and an enterprise grid's workforce, the review of residents' declarations, units and
facilities, and imports (a file queued for the worker, its progress and its report).

Thin: every read goes through `registry.selectors`, every action through the same service the REST
API calls, so scope, masking and audit are the API's. ID and phone numbers are shown masked; the
whole numbers of one person appear only after the audited reveal, to the roles allowed it. htmx
swaps the result lists and the action panels; without JavaScript every filter is a plain GET form
and every action a POST.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhiwang.accounts.models import User
from zhiwang.accounts.permissions import Scope, require_staff_role, scope_for
from zhiwang.common.console import guarded, is_htmx
from zhiwang.common.errors import ApplicationError, NotFound, ValidationFailed
from zhiwang.common.origin import origin_from_request
from zhiwang.grids.models import GridNode, Layer, path_ids
from zhiwang.grids.selectors import grid_get, grid_list
from zhiwang.registry import declarations, selectors, services
from zhiwang.registry import forms as registry_forms
from zhiwang.registry.importing import report_csv
from zhiwang.registry.importing.jobs import job_progress, job_queue
from zhiwang.registry.models import (
    SMALL_VENUE_KINDS,
    Declaration,
    DeclarationStatus,
    Employment,
    ImportJob,
    ImportJobStatus,
    ImportStatus,
    Person,
    PersonStatus,
)
from zhiwang.registry.permissions import (
    CARERS,
    COLLECTORS,
    PERSON_READERS,
    REVIEWERS,
    can_reveal,
    can_see_care_fields,
    require_person_reader,
)

PAGE_SIZE = 25

ERROR_MESSAGES = {
    "no_role": gettext_lazy("Your account holds no role. Ask an administrator for one."),
    "registry_no_person_access": gettext_lazy("Your role does not read resident records."),
    "registry_not_reviewer": gettext_lazy(
        "Only grid workers and community dispatchers of the grid review residents' declarations."
    ),
    "registry_no_reveal": gettext_lazy(
        "Only grid workers and community dispatchers of the residence see whole numbers."
    ),
    "registry_no_care_access": gettext_lazy("Your role does not see key-group tags."),
    "registry_not_collector": gettext_lazy(
        "Only grid workers, community dispatchers and administrators of this grid record base data here."
    ),
    "reason_required": gettext_lazy("Give a reason of at least two characters."),
    "declaration_decided": gettext_lazy(
        "Someone decided this declaration first. The queue shows what is still waiting."
    ),
    "duplicate_person": gettext_lazy(
        "A person with this ID number already lives in your area. Check the resident list first."
    ),
    "person_not_active": gettext_lazy("This person no longer lives here."),
    "not_admin_grid": gettext_lazy("Residents are listed for a town, community or grid."),
    "not_enterprise_grid": gettext_lazy("The workforce is listed for an enterprise grid."),
}
STATUS_ERRORS = {
    400: gettext_lazy("The input was not accepted. Check it and try again."),
    403: gettext_lazy("Your role may not do this here."),
    404: gettext_lazy("Not found."),
    409: gettext_lazy("The record has changed meanwhile. Reload the page and try again."),
}
BAD_ID_NUMBER = gettext_lazy("Enter the 18-character ID number as printed on the ID card.")
# Refusals of a list's search, by code: the filter field they belong to and the words.
FILTER_ERRORS = {
    "id_format": ("id_number", BAD_ID_NUMBER),
    "id_check_digit": ("id_number", BAD_ID_NUMBER),
    "id_birth_date": ("id_number", BAD_ID_NUMBER),
    "phone": ("phone", gettext_lazy("Enter an 11-digit mobile number, or a landline with its area code.")),
}
DECISIONS = ("approve", "reject")
DECLARATION_TABS = dict(DeclarationStatus.choices)


def error_text(exc: ApplicationError) -> str:
    """The console's wording for a refusal, in the reader's language."""
    message = ERROR_MESSAGES.get(exc.code) or STATUS_ERRORS.get(exc.status, STATUS_ERRORS[400])
    return str(message)


def refused(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    context = {"message": error_text(exc), **navigation(request, "")}
    return render(request, "registry/refused.html", context, status=exc.status)


# Signed-in staff only; anything out of scope is a 404, any other refusal a page saying why.
console_view = guarded(refused, lambda request: require_staff_role(request.user))


# --- shared parts ---------------------------------------------------------------------------------


def navigation(request: HttpRequest, current: str) -> dict[str, Any]:
    """The registry's own tabs, each shown only to the roles that may open it."""
    scope = scope_for(request.user)
    tabs: list[tuple[str, str, str]] = []
    if scope.has_role(PERSON_READERS):
        tabs.append(("residents", reverse("registry:residents"), _("Residents")))
    if scope.has_role(REVIEWERS):
        tabs.append(("declarations", reverse("registry:declarations"), _("Declarations to review")))
    if scope.roles or scope.is_superuser:
        tabs.append(("units", reverse("registry:units"), _("Units")))
        tabs.append(("facilities", reverse("registry:facilities"), _("Facilities (部件)")))
    if scope.has_role(COLLECTORS):
        tabs.append(("imports", reverse("registry:imports"), _("Import")))
    return {"registry_tabs": tabs, "registry_current": current}


def filter_areas(request: HttpRequest, scope: Scope) -> list[GridNode]:
    """Subtrees a list can be narrowed to: towns and communities, and base grids for staff of a
    community or below (a whole city's base grids would not fit a select)."""
    levels = ["town", "community"]
    roots = scope.paths()
    if roots and min(len(path_ids(p)) for p in roots) >= 3:
        levels.append("grid")
    nodes = (
        grid_list(actor=request.user, layer=Layer.ADMIN)
        .filter(level__in=levels)
        .select_related(None)
        .only("id", "code", "name", "level", "path", "layer")
    )
    return list(nodes)


def workforce_grids(request: HttpRequest, scope: Scope) -> list[GridNode]:
    """The enterprise grids whose workforce this reader may list."""
    nodes = (
        grid_list(actor=request.user, layer=Layer.ENTERPRISE)
        .select_related(None)
        .only("id", "code", "name", "level", "path", "layer")
    )
    return [node for node in nodes if scope.covers(node.path, PERSON_READERS)]


def page_of(request: HttpRequest, rows: Any) -> Page[Any]:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def residence_of(person: Person) -> str:
    return declarations.room_address(person.room) if person.room_id and person.room else ""


@dataclass(frozen=True)
class PersonRow:
    """A person as this reader sees them: health and key-group tags only where they care."""

    person: Person
    show_care: bool
    residence: str

    @property
    def tag_labels(self) -> list[str]:
        return [str(registry_forms.TAG_LABELS.get(tag, tag)) for tag in self.person.tags]

    @property
    def employers(self) -> list[Employment]:
        return list(getattr(self.person, "current_employments", []))


def person_rows(scope: Scope, persons: Iterable[Person]) -> list[PersonRow]:
    return [
        PersonRow(person, can_see_care_fields(scope, person.grid_path), residence_of(person))
        for person in persons
    ]


def refuse_filter(form: forms.Form, exc: ValidationFailed) -> None:
    """Put a refused search on the form field it came from."""
    name, message = FILTER_ERRORS.get(exc.code, (None, STATUS_ERRORS[400]))
    details = exc.details if isinstance(exc.details, dict) else {}
    name = name or details.get("field")
    form.add_error(name if name in form.fields else None, str(message))


# --- residents ------------------------------------------------------------------------------------


@console_view
@require_http_methods(["GET", "POST"])
def residents_view(request: HttpRequest) -> HttpResponse:
    """The residents in scope, filtered by GET parameters; a search by whole ID or phone number is
    posted (see `PersonSearchForm`) and its answer is not cached."""
    scope = require_person_reader(request.user)
    show_tags = scope.has_role(CARERS)
    areas = filter_areas(request, scope)
    form = registry_forms.ResidentFilterForm(request.GET, areas=areas, show_tags=show_tags)
    search = registry_forms.PersonSearchForm(request.POST if request.method == "POST" else None)
    searching = search.is_searching()
    query: dict[str, Any] | None = None
    if searching:  # a whole number finds the person anywhere in the reader's area, whatever their status
        query = {"status": None, **search.cleaned_data}
    elif form.is_valid() and not search.errors:
        query = {
            "within_path": form.within_path(),
            "kind": form.cleaned_data["kind"],
            "status": form.status_value(),
            "tag": form.cleaned_data.get("tag") or "",
        }
    rows: list[PersonRow] = []
    page = page_of(request, [])
    if query is not None:
        try:
            persons = selectors.resident_list(actor=request.user, **query)
        except ValidationFailed as exc:
            refuse_filter(search if searching else form, exc)
        else:
            page = page_of(request, persons)
            rows = person_rows(scope, page.object_list)
    context = {
        "form": form,
        "search": search,
        "page": page,
        "rows": rows,
        "show_tags": show_tags,
        "invalid": bool(form.errors or search.errors),
        "filtering": searching or (form.is_valid() and form.is_filtering()),
        "communities": [a for a in areas if a.level == "community"],
        "enterprise_grids": workforce_grids(request, scope),
        **navigation(request, "residents"),
    }
    template = "registry/_residents.html" if is_htmx(request) else "registry/residents.html"
    response = render(request, template, context)
    if request.method == "POST":
        response["Cache-Control"] = "no-store"
    return response


@console_view
@require_GET
def community_view(request: HttpRequest, grid_id: int) -> HttpResponse:
    """The residents of one town, community or grid, with their employers (the API's
    `communities/{id}/residents`)."""
    scope = require_person_reader(request.user)
    persons = selectors.community_residents(actor=request.user, grid_id=grid_id)
    node = grid_get(actor=request.user, grid_id=grid_id)
    page = page_of(request, persons)
    context = {
        "node": node,
        "page": page,
        "rows": person_rows(scope, page.object_list),
        "show_tags": scope.has_role(CARERS),
        **navigation(request, "residents"),
    }
    return render(request, "registry/community.html", context)


@dataclass(frozen=True)
class WorkerRow:
    employment: Employment
    row: PersonRow


@console_view
@require_GET
def workforce_view(request: HttpRequest, grid_id: int) -> HttpResponse:
    """The people working for the units of an enterprise grid and where they live (the API's
    `enterprise-grids/{id}/workforce`)."""
    scope = require_person_reader(request.user)
    employments = selectors.enterprise_workforce(actor=request.user, grid_id=grid_id)
    node = grid_get(actor=request.user, grid_id=grid_id)
    page = page_of(request, employments)
    rows = [
        WorkerRow(
            e, PersonRow(e.person, can_see_care_fields(scope, e.person.grid_path), residence_of(e.person))
        )
        for e in page.object_list
        if e.person is not None
    ]
    context = {
        "node": node,
        "page": page,
        "rows": rows,
        "show_tags": scope.has_role(CARERS),
        **navigation(request, "residents"),
    }
    return render(request, "registry/workforce.html", context)


# --- a person -------------------------------------------------------------------------------------


@dataclass
class Reveal:
    """The reveal panel: offered or not, its form, the numbers once revealed, or why not."""

    offered: bool
    form: registry_forms.RevealForm
    numbers: dict[str, str] | None = None
    message: str = ""
    status: int = 200


def reveal_panel(request: HttpRequest, person: Person, reveal: Reveal | None = None) -> Reveal:
    if reveal is not None:
        return reveal
    offered = can_reveal(scope_for(request.user), person.grid_path) and bool(person.id_number_enc)
    return Reveal(offered=offered, form=registry_forms.RevealForm())


def person_page(request: HttpRequest, person: Person, reveal: Reveal | None = None) -> HttpResponse:
    """The whole person page; every response showing a person's record leaves a read in the audit."""
    scope = scope_for(request.user)
    panel = reveal_panel(request, person, reveal)
    context = {
        "person": person,
        "row": person_rows(scope, [person])[0],
        "history": selectors.person_history(person, scope),
        "reveal": panel,
        "is_active": person.status == PersonStatus.ACTIVE,
        **navigation(request, "residents"),
    }
    response = render(request, "registry/person.html", context, status=panel.status)
    assert isinstance(request.user, User)
    services.person_read_recorded(actor=request.user, person=person, origin=origin_from_request(request))
    response["Cache-Control"] = "no-store"
    return response


@console_view
@require_GET
def person_view(request: HttpRequest, person_id: int) -> HttpResponse:
    person = selectors.person_get(actor=request.user, person_id=person_id)
    return person_page(request, person)


def render_reveal(request: HttpRequest, person: Person, reveal: Reveal) -> HttpResponse:
    if is_htmx(request):
        response = render(
            request, "registry/_reveal.html", {"person": person, "reveal": reveal}, status=reveal.status
        )
        response["Cache-Control"] = "no-store"
        return response
    return person_page(request, person, reveal)


@never_cache
@console_view
@require_POST
def reveal_view(request: HttpRequest, person_id: int) -> HttpResponse:
    """The whole ID and phone numbers of one person, through the same audited service as the API."""
    person = selectors.person_get(actor=request.user, person_id=person_id)
    form = registry_forms.RevealForm(request.POST)
    if not person.id_number_enc:
        message = _("This record is deleted: its numbers are no longer kept.")
        return render_reveal(request, person, Reveal(False, form, message=message, status=409))
    offered = reveal_panel(request, person).offered
    if offered and not form.is_valid():
        reveal = Reveal(offered, form, message=_("Check the highlighted fields."), status=400)
        return render_reveal(request, person, reveal)
    try:  # whoever is not offered the reveal hears the service's refusal
        numbers = services.person_reveal(
            actor=request.user,
            person_id=person.pk,
            reason=form.cleaned_data["reason"] if offered else request.POST.get("reason", ""),
            origin=origin_from_request(request),
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        return render_reveal(
            request, person, Reveal(offered, form, message=error_text(exc), status=exc.status)
        )
    return render_reveal(request, person, Reveal(True, registry_forms.RevealForm(), numbers=numbers))


# --- residents' declarations ----------------------------------------------------------------------


@dataclass
class Failure:
    """A decision that was refused: on which declaration, what was typed (nothing is lost), and why."""

    declaration_id: int
    decision: str
    form: registry_forms.RejectForm
    message: str
    status: int


@dataclass(frozen=True)
class DeclarationRow:
    declaration: Declaration
    residence: str
    reject_form: registry_forms.RejectForm
    failure: Failure | None = None

    @property
    def pending(self) -> bool:
        return self.declaration.status == DeclarationStatus.PENDING


def declaration_rows(
    declarations_page: Iterable[Declaration], failure: Failure | None
) -> list[DeclarationRow]:
    rows = []
    for declaration in declarations_page:
        mine = failure if failure is not None and failure.declaration_id == declaration.pk else None
        form = (
            mine.form
            if mine is not None and mine.decision == "reject"
            else registry_forms.RejectForm(auto_id=f"id_reject_{declaration.pk}_%s")
        )
        rows.append(DeclarationRow(declaration, declarations.room_address(declaration.room), form, mine))
    return rows


def declaration_context(request: HttpRequest, status: str, failure: Failure | None = None) -> dict[str, Any]:
    queue = selectors.declaration_queue(actor=request.user, status=status)
    page = page_of(request, queue)
    rows = declaration_rows(page.object_list, failure)
    shown = {row.declaration.pk for row in rows}
    pending = selectors.declaration_queue(actor=request.user, status=DeclarationStatus.PENDING).count()
    return {
        "status": status,
        "tabs": list(DECLARATION_TABS.items()),
        "pending_count": pending,
        "page": page,
        "rows": rows,
        "failure": failure,
        "failure_hidden": failure is not None and failure.declaration_id not in shown,
        **navigation(request, "declarations"),
    }


def chosen_status(value: str | None) -> str:
    return value if value in DECLARATION_TABS else DeclarationStatus.PENDING


@console_view
@require_GET
def declarations_view(request: HttpRequest) -> HttpResponse:
    context = declaration_context(request, chosen_status(request.GET.get("status")))
    template = "registry/_declarations.html" if is_htmx(request) else "registry/declarations.html"
    return render(request, template, context)


def render_queue(request: HttpRequest, failure: Failure | None = None) -> HttpResponse:
    context = declaration_context(request, DeclarationStatus.PENDING, failure)
    status = failure.status if failure else 200
    template = "registry/_declarations.html" if is_htmx(request) else "registry/declarations.html"
    return render(request, template, context, status=status)


@console_view
@require_POST
def decide_view(request: HttpRequest, declaration_id: int, decision: str) -> HttpResponse:
    """Approve or reject a declaration through `registry.declarations`, as the API does."""
    if decision not in DECISIONS:
        raise Http404("No such decision.")
    declaration = selectors.declaration_get(actor=request.user, declaration_id=declaration_id)
    form = registry_forms.RejectForm(request.POST, auto_id=f"id_reject_{declaration.pk}_%s")
    origin = origin_from_request(request)
    if decision == "reject" and not form.is_valid():
        message = _("Check the highlighted fields.")
        return render_queue(request, Failure(declaration.pk, decision, form, message, 400))
    try:
        if decision == "approve":
            declarations.declaration_approve(actor=request.user, declaration_id=declaration.pk, origin=origin)
        else:
            declarations.declaration_reject(
                actor=request.user,
                declaration_id=declaration.pk,
                reason=form.cleaned_data["reason"],
                origin=origin,
            )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        return render_queue(request, Failure(declaration.pk, decision, form, error_text(exc), exc.status))
    done = (
        _("Approved: %(name)s is registered in the room.")
        if decision == "approve"
        else _("Rejected: the declarant reads your reason.")
    )
    messages.success(request, done % {"name": declaration.person_name})
    if is_htmx(request):
        return render_queue(request)
    return HttpResponseRedirect(reverse("registry:declarations"))


# --- units and facilities -------------------------------------------------------------------------


@console_view
@require_GET
def units_view(request: HttpRequest) -> HttpResponse:
    scope = require_staff_role(request.user)
    enterprise = list(
        grid_list(actor=request.user, layer=Layer.ENTERPRISE)
        .select_related(None)
        .only("id", "code", "name", "level", "path", "layer")
    )
    form = registry_forms.UnitFilterForm(
        request.GET, areas=filter_areas(request, scope), enterprise_grids=enterprise
    )
    page = page_of(request, [])
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        kinds = sorted(SMALL_VENUE_KINDS) if kind == registry_forms.SMALL_VENUES else [kind] if kind else []
        units = selectors.unit_browse(
            actor=request.user,
            kinds=kinds,
            within_path=form.within_path(),
            enterprise_grid_id=form.cleaned_data.get("enterprise_grid"),
            name=form.cleaned_data["name"],
        )
        page = page_of(request, units)
    context = {
        "form": form,
        "page": page,
        "filtering": form.is_valid() and form.is_filtering(),
        **navigation(request, "units"),
    }
    template = "registry/_units.html" if is_htmx(request) else "registry/units.html"
    return render(request, template, context)


@console_view
@require_GET
def facilities_view(request: HttpRequest) -> HttpResponse:
    scope = require_staff_role(request.user)
    form = registry_forms.FacilityFilterForm(request.GET, areas=filter_areas(request, scope))
    page = page_of(request, [])
    if form.is_valid():
        facilities = selectors.facility_browse(
            actor=request.user,
            within_path=form.within_path(),
            major_code=form.cleaned_data["major_code"],
            status=form.cleaned_data["status"],
            search=form.cleaned_data["search"],
        )
        page = page_of(request, facilities)
    context = {
        "form": form,
        "page": page,
        "filtering": form.is_valid() and form.is_filtering(),
        **navigation(request, "facilities"),
    }
    template = "registry/_facilities.html" if is_htmx(request) else "registry/facilities.html"
    return render(request, template, context)


# --- imports --------------------------------------------------------------------------------------

# Why a queued file did not become a batch, by the job's error code, in the reader's language.
JOB_ERRORS = {
    "bad_columns": gettext_lazy(
        "The file's columns do not fit this kind of record. Check the column names in the first row."
    ),
    "empty_file": gettext_lazy("The file is empty."),
    "bad_file": gettext_lazy("The file is not a readable CSV file or Excel workbook."),
    "bad_file_type": gettext_lazy("Upload a CSV file or an Excel workbook (.xlsx)."),
    "bad_encoding": gettext_lazy("The file is neither UTF-8 nor GB18030 text."),
    "registry_not_collector": ERROR_MESSAGES["registry_not_collector"],
    "import_conflict": gettext_lazy(
        "Some of these records were registered by someone else meanwhile; nothing was imported. "
        "Import the file again for a row-by-row report."
    ),
    "file_lost": gettext_lazy("The uploaded file could not be read. Upload it again."),
    "internal_error": gettext_lazy("The import stopped on an unexpected error; nothing was imported."),
    "interrupted": gettext_lazy(
        "The import was interrupted (the background worker stopped) and could not be resumed; "
        "nothing was imported. Upload the file again."
    ),
}
SHOWN_ROW_ERRORS = 50


def imports_context(request: HttpRequest, form: registry_forms.ImportForm) -> dict[str, Any]:
    labels = dict(registry_forms.IMPORT_KIND_CHOICES)
    return {
        "form": form,
        "jobs": [
            (job, labels.get(job.kind, job.kind)) for job in selectors.import_jobs_of(actor=request.user)
        ],
        **navigation(request, "imports"),
    }


@console_view
@require_http_methods(["GET", "POST"])
def imports_view(request: HttpRequest) -> HttpResponse:
    """Upload a file to import (queued for the worker), and the person's latest imports."""
    if request.method == "GET":
        return render(request, "registry/imports.html", imports_context(request, registry_forms.ImportForm()))
    form = registry_forms.ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "registry/imports.html", imports_context(request, form), status=400)
    upload = form.cleaned_data["file"]
    try:
        job = job_queue(
            actor=request.user,
            stream=upload,
            filename=upload.name or "upload.csv",
            kind=form.cleaned_data["kind"],
            origin=origin_from_request(request),
            mapping=form.cleaned_data["mapping"] or None,
        )
    except ApplicationError as exc:
        form.add_error(
            "file" if exc.code == "bad_file" else None, JOB_ERRORS.get(exc.code) or error_text(exc)
        )
        return render(request, "registry/imports.html", imports_context(request, form), status=exc.status)
    messages.success(request, _("The file is queued for import. This page follows it."))
    return HttpResponseRedirect(reverse("registry:import", args=[job.pk]))


def job_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    batch = job.batch
    refused_errors = batch.errors[:SHOWN_ROW_ERRORS] if batch and batch.status == ImportStatus.REFUSED else []
    return {
        "job": job,
        "batch": batch,
        "waiting": job.status in (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING),
        "rows_checked": job_progress(job),
        "kind_label": dict(registry_forms.IMPORT_KIND_CHOICES).get(job.kind, job.kind),
        "failure": (JOB_ERRORS.get(job.error_code) or job.error_message) if job.error_code else "",
        "row_errors": refused_errors,
        "more_errors": bool(batch and len(batch.errors) > len(refused_errors)),
        **navigation(request, "imports"),
    }


@never_cache
@console_view
@require_GET
def import_view(request: HttpRequest, job_id: int) -> HttpResponse:
    """One import: queued, running (htmx asks again every two seconds), applied or refused."""
    job = selectors.import_job_get(actor=request.user, job_id=job_id)
    template = "registry/_import_job.html" if is_htmx(request) else "registry/import_job.html"
    return render(request, template, job_context(request, job))


@console_view
@require_GET
def import_report_view(request: HttpRequest, job_id: int) -> HttpResponse:
    """The row-by-row report of a refused import, as CSV."""
    job = selectors.import_job_get(actor=request.user, job_id=job_id)
    if job.batch is None:
        raise Http404("This import has no report.")
    response = HttpResponse(report_csv(job.batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response
