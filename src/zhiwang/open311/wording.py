"""What the Open311 API tells clients in words: the public notes on a request's status, the public
wording of timeline steps (as updates), hints on attribute datatypes, and the spec's error texts."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from zhiwang.cases.models import Status
from zhiwang.taxonomy.models import ExtraFieldType

STATUS_NOTES: dict[str, Promise] = {
    Status.REPORTED: _("Received; waiting to be accepted"),
    Status.ACCEPTED: _("Accepted; a handling unit is being chosen"),
    Status.DISPATCHED: _("Sent to the handling unit"),
    Status.RETURNED: _("Being reassigned to another handling unit"),
    Status.SIGNED: _("Being handled"),
    Status.HANDLED: _("Handled; waiting for an on-the-spot check"),
    Status.REVISIT: _("Done; waiting for the follow-up visit"),
    Status.PARKED: _("Scheduled for long-term handling"),
    Status.CLOSED: _("Closed: the problem is solved"),
    Status.REJECTED: _("Closed: not accepted for handling"),
    Status.MERGED: _("Closed: merged with another request about the same problem"),
}
MERGED_INTO = _("Closed: merged with request %(number)s about the same problem")

# Timeline steps that become public updates, and their wording. Internal steps (warnings,
# escalations, supervision, whistles, extension requests, notes) never leave the city.
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

DATATYPE_HINTS: dict[str, Promise] = {
    ExtraFieldType.STRING: _("A short text"),
    ExtraFieldType.NUMBER: _("A number, such as 12 or 3.5"),
    ExtraFieldType.DATETIME: _("A date and time with its time zone, such as 2026-03-02T09:00:00+08:00"),
    ExtraFieldType.TEXT: _("A longer text"),
    ExtraFieldType.SINGLE: _("Choose one of the values"),
    ExtraFieldType.MULTI: _("Choose one or more of the values"),
}

TIME_LIMIT_DAYS = _("Time limit after dispatch (working days): %(count)s")
TIME_LIMIT_HOURS = _("Time limit after dispatch (working hours): %(count)s")
KEY_SERVICE = _("Ask the city's administrators for an API key for your application.")
