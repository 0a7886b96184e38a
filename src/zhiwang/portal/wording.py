"""What the portal tells residents: case statuses and timeline steps in plain words, and the
wording of the refusals the case services answer with (by their codes)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from zhiwang.cases.models import Status

STATUS_WORDS: dict[str, Promise] = {
    Status.REPORTED: _("Received; waiting to be accepted"),
    Status.ACCEPTED: _("Accepted; a handling unit is being chosen"),
    Status.REJECTED: _("Not accepted for handling"),
    Status.MERGED: _("Handled together with another report of the same problem"),
    Status.DISPATCHED: _("Sent to the handling unit"),
    Status.RETURNED: _("Being reassigned to another handling unit"),
    Status.SIGNED: _("Being handled"),
    Status.HANDLED: _("Handled; waiting for an on-the-spot check"),
    Status.REVISIT: _("Done; please rate the outcome"),
    Status.PARKED: _("Scheduled for long-term handling"),
    Status.CLOSED: _("Closed: the problem is solved"),
}

STEP_WORDS: dict[str, Promise] = {
    "report": _("Problem reported"),
    "accept": _("Accepted for handling"),
    "reject": _("Not accepted for handling"),
    "merge": _("Merged with another report of the same problem"),
    "dispatch": _("Sent to the handling unit"),
    "sign": _("The handling unit took it on"),
    "return": _("Being reassigned to another handling unit"),
    "approve_extension": _("Time limit extended"),
    "park": _("Scheduled for long-term handling"),
    "unpark": _("Handling resumed"),
    "handle": _("Handled by the unit"),
    "verify_pass": _("Checked on the spot"),
    "verify_fail": _("The on-the-spot check found more to do"),
    "self_handle": _("Handled on the spot"),
    "close": _("Case closed"),
    "reopen": _("Reopened after the rating"),
}

# Refusals of the report service, by code: (form field, words).
REPORT_REFUSALS: dict[str, tuple[str | None, Promise]] = {
    "bad_phone": ("phone", _("Enter a mainland mobile number: 11 digits starting with 1.")),
    "phone_required": ("phone", _("Enter a mainland mobile number: 11 digits starting with 1.")),
    "outside_city": ("lon", _("This place is outside the area we serve. Move the pin into the city.")),
    "bad_coordinate": ("lon", _("Place the pin on the map where the problem is.")),
    "bad_category": ("category", _("Choose a category from the list, or leave it empty.")),
    "description_required": ("description", _("Describe the problem.")),
    "empty_photo": ("photo", _("The photo is empty. Take it again.")),
    "photo_too_large": ("photo", _("The photo is larger than 10 MB. Take a smaller one.")),
    "bad_photo_type": ("photo", _("Send a JPEG, PNG or WebP photo.")),
}
GENERIC_REFUSAL = _("The report could not be taken. Check the form and try again.")
