"""The wording the app's scripts show, translated on the server and handed over in the shell.

Placeholders are Django-style (`%(name)s`); the scripts fill them in.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def labels() -> dict[str, str]:
    return {
        # the frame
        "online": _("Online"),
        "offline": _("Offline"),
        "signed_out": _("You are signed out. Waiting reports are kept on this phone."),
        "sign_in_again": _("Sign in again"),
        "needs_signal": _("This needs a signal. Try again when you are online."),
        "confirm_sign_out": _(
            "%(count)s reports on this phone have not been sent yet. They stay here and are sent "
            "the next time you sign in. Sign out?"
        ),
        "loading": _("Loading…"),
        # errors
        "error_network": _("No signal: it will be sent automatically."),
        "error_server": _("The server is not available right now; it will be tried again."),
        "error_auth": _("You are signed out: sign in again to send it."),
        "error_refused": _("Refused by the server (%(status)s): %(message)s"),
        # tasks and one case
        "no_grids": _("No grid is assigned to you."),
        "no_tasks": _("Nothing to do here."),
        "unclassified": _("Not classified"),
        "handled_at": _("handled %(when)s"),
        "tasks_updated": _("Updated %(when)s"),
        "tasks_offline": _("Offline copy from %(when)s"),
        "case_number": _("Case %(number)s"),
        "category": _("Category"),
        "address": _("Address"),
        "grid": _("Grid"),
        "department": _("Handled by"),
        "reported_at": _("Reported at"),
        "handled_at_label": _("Handled at"),
        "handling_result": _("Handling result"),
        "rework_count": _("Reworked"),
        "revisit_by_dispatcher": _(
            "Verification passed. The follow-up visit is recorded by the community dispatcher."
        ),
        "verify_by_finder": _("The grid worker who reported this case verifies it."),
        "no_action_now": _("There is nothing for you to do on this case now."),
        "need_failure_note": _("Say what is still wrong."),
        "verified_passed": _("Verification passed; the case goes to the follow-up visit."),
        "verified_failed": _("Verification failed; the case goes back for rework."),
        "revisit_recorded": _("The follow-up visit is recorded."),
        "to_verify": _("To verify"),
        "to_revisit": _("To revisit"),
        "you_are_here": _("You are here"),
        # the report form
        "locating": _("Locating…"),
        "location_fixed": _("Located (within %(metres)s m)"),
        "location_from_map": _("Placed on the map"),
        "location_unsupported": _("This phone cannot tell its position. Tap the map to place the report."),
        "location_denied": _("Location is not allowed. Allow it, or tap the map to place the report."),
        "location_failed": _("No position yet. Try again, or tap the map to place the report."),
        "photo_unreadable": _("This file is not a photo this phone can read."),
        "need_description": _("Describe the problem."),
        "need_location": _("There is no position yet. Wait for it, or tap the map to place the report."),
        "need_two_photos": _("A problem solved on the spot needs a photo before and a photo after."),
        "need_account": _("Your account is not loaded yet. Go online once, then report."),
        "save_failed": _("The report could not be saved on this phone. Nothing was lost; try again."),
        # the outbox
        "state_queued": _("Waiting to send"),
        "state_sending": _("Sending"),
        "state_sent": _("Report sent"),
        "state_failed": _("Failed"),
        "waiting_to_send": _("It goes out with the next sync."),
        "waiting_for_signal": _("Waiting for a signal; it is sent automatically."),
        "retry_at": _("%(reason)s Next try at %(when)s."),
        "sending_now": _("Sending…"),
        "reported_as": _("Case number %(number)s"),
        "photo_failed": _("Case %(number)s was reported, but a photo was not accepted: %(reason)s"),
        "photo_count": _("Photos: %(count)s"),
        "self_handled": _("Solved on the spot"),
        "retry": _("Retry"),
        "delete": _("Delete"),
        "confirm_delete": _("Delete this report? It has not been sent and will be lost."),
        "confirm_delete_reported": _(
            "Delete this entry from the phone? The case itself stays reported; only the photo is dropped."
        ),
        "outbox_empty": _("No reports on this phone."),
        "others_waiting": _("%(count)s reports of another account wait on this phone."),
    }


def error_messages() -> dict[str, str]:
    """Refusals by error code, worded for the worker."""
    return {
        "description_required": _("Describe the problem."),
        "bad_category": _("This category is not in use. Choose another one."),
        "bad_self_handle": _("Only a problem inside your grid can be reported as solved on the spot."),
        "bad_urgency": _("Choose the urgency from the list."),
        "bad_coordinate": _("The position is not valid. Locate again."),
        "invalid_request": _("Some of the input is not valid. Check the form."),
        "forbidden": _("Your account may not do this."),
        "no_role": _("Your account holds no role. Ask your administrator."),
        "not_authenticated": _("You are signed out: sign in again to send it."),
        "not_found": _("This case is not in your grids."),
        "illegal_transition": _("The case has moved on meanwhile; this is where it stands now."),
        "reason_required": _("Say what is still wrong."),
        "bad_rating": _("A rating runs from 1 to 5."),
        "empty_photo": _("The photo is empty."),
        "photo_too_large": _("The photo is larger than 10 MB."),
        "bad_photo_type": _("Send a JPEG, PNG or WebP photo."),
        "bad_stage": _("This kind of photo is not accepted here."),
    }
