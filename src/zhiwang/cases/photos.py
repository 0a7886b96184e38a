"""Photos of a case, by stage, from the people the stage belongs to."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import transaction

from zhiwang.accounts.models import User
from zhiwang.cases.models import Case, CasePhoto, Status
from zhiwang.cases.permissions import cities_of, relation
from zhiwang.cases.steps import (
    Actor,
    lock_case,
    record_audit,
    record_event,
    user_of,
)
from zhiwang.common.errors import NotFound, PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin

PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}
MAX_PHOTO_BYTES = 10 * 1024 * 1024


def photo_kind(head: bytes) -> str | None:
    for magic, extension in PHOTO_TYPES.items():
        if head.startswith(magic) and (extension != "webp" or head[8:12] == b"WEBP"):
            return extension
    return None


def photo_extension(content: bytes) -> str:
    """The file extension of an acceptable photo (JPEG, PNG or WebP, at most 10 MB), by its bytes."""
    if not content:
        raise ValidationFailed("The photo is empty.", code="empty_photo")
    if len(content) > MAX_PHOTO_BYTES:
        raise ValidationFailed("A photo may be at most 10 MB.", code="photo_too_large")
    extension = photo_kind(content[:16])
    if extension is None:
        raise ValidationFailed("Send a JPEG, PNG or WebP photo.", code="bad_photo_type")
    return extension


def photo_save(
    case: Case, stage: str, content: bytes, extension: str, uploaded_by: User | None, name: str = ""
) -> CasePhoto:
    """Store a checked photo of a locked case (the caller records the timeline entry and audit row)."""
    photo = CasePhoto(case=case, city_id=case.city_id, stage=stage, uploaded_by=uploaded_by)
    photo.file.save(f"{case.number}-{name or stage}.{extension}", ContentFile(content), save=False)
    photo.save()
    return photo


def case_add_photo(*, actor: Actor, case_id: int, stage: str, content: bytes, origin: Origin) -> CasePhoto:
    """A photo at a stage: the reporter's at report, the handler's before and after handling (or the
    grid worker's own, for a problem handled on the spot), the finder's at verification."""
    if stage not in CasePhoto.Stage.values:
        raise ValidationFailed(f"Unknown photo stage {stage!r}.", code="bad_stage")
    extension = photo_extension(content)
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        rel = relation(actor, case)
        if not rel.reader:
            raise NotFound("No such case.")
        own_report = case.reporter_id is not None and case.reporter_id == getattr(actor, "pk", None)
        allowed = {
            CasePhoto.Stage.REPORT: own_report and case.status in (Status.REPORTED, Status.ACCEPTED),
            CasePhoto.Stage.BEFORE: (rel.handler and case.status == Status.SIGNED)
            or (own_report and case.self_handled),
            CasePhoto.Stage.AFTER: (rel.handler and case.status in (Status.SIGNED, Status.HANDLED))
            or (own_report and case.self_handled),
            CasePhoto.Stage.VERIFY: rel.finder and case.status in (Status.HANDLED, Status.REVISIT),
        }[CasePhoto.Stage(stage)]
        if not allowed:
            raise PermissionDenied("You may not add a photo of this stage to this case now.")
        photo = photo_save(case, stage, content, extension, user_of(actor))
        record_event(case, "photo", actor, before=case.status, stage=stage, photo=photo.pk)
        record_audit(case, "photo", actor, origin, stage=stage)
    return photo
