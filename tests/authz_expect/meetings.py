"""Expected authorization outcomes for meeting routes (see ``tests/authz_expect`` for the format).

The meeting is organised by hamlet with polonius attending; ophelia (same department), horatio, othello
and the administrator have no part in it and get 404. Rooms and the work calendar are admin-managed.
"""

from __future__ import annotations

from typing import Any

from tests.authz_expect import REFUSED, admin_only, everyone, private, public

M = "/api/meetings/{meeting_id:int}"

EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/meetings/rooms"): everyone(),
    ("POST", "/api/meetings/rooms"): admin_only(REFUSED),
    ("PATCH", "/api/meetings/rooms/{room_id:int}"): admin_only(REFUSED),
    ("POST", "/api/meetings/rooms/{room_id:int}/blocks"): admin_only(REFUSED),
    ("DELETE", "/api/meetings/rooms/{room_id:int}/blocks/{block_id:int}"): admin_only(),
    ("GET", "/api/meetings/calendar/{year:int}"): everyone(),
    ("PUT", "/api/meetings/calendar/{year:int}"): admin_only(REFUSED),
    ("GET", "/api/meetings/approvals"): everyone(),
    ("POST", "/api/meetings/check"): everyone(REFUSED),
    ("GET", "/api/meetings/freebusy"): everyone(),  # busy/free only, no titles
    ("POST", "/api/meetings/slots"): everyone(REFUSED),
    ("GET", "/api/meetings/feed"): everyone(),
    ("POST", "/api/meetings/feed"): everyone(),
    ("DELETE", "/api/meetings/feed"): everyone(),
    # A capability URL: 43 random characters; whoever holds it reads that one person's calendar.
    ("GET", "/api/meetings/feed/{token}.ics"): public(),
    ("GET", "/api/meetings"): everyone(),  # each caller's own calendar
    ("POST", "/api/meetings"): everyone(REFUSED),
    ("GET", M): private(),
    ("PATCH", M): private(),
    ("POST", M + "/skip"): private(),
    ("POST", M + "/cancel"): private(),
    ("POST", M + "/approval"): private(403),  # the organiser is not the room's approver
    ("POST", M + "/attendees"): private(),
    ("DELETE", M + "/attendees/{user_id:int}"): private(),
    ("POST", M + "/rsvp"): private(403),  # the organiser is not on the invitation list
    ("POST", M + "/agencies/{agency_id:int}/nominees"): private(403),  # nor an invited agency's contact
    ("GET", M + "/signups"): private(),
    ("GET", M + "/agenda"): private(),
    ("PUT", M + "/agenda"): private(),
    ("GET", M + "/materials"): private(),
    ("POST", M + "/materials/links"): private(),
    ("POST", M + "/materials/files"): private(),
    ("GET", M + "/materials/{material_id:int}"): private(),
    ("DELETE", M + "/materials/{material_id:int}"): private(),
    ("GET", M + "/signin/screen"): private(),
    ("POST", M + "/signin"): private(403),  # the organiser is not an attendee
    ("GET", M + "/attendance"): private(),
    ("GET", M + "/attendance.csv"): private(),
    ("GET", M + "/minutes"): private(),
    ("PUT", M + "/minutes"): private(REFUSED),  # would drop a task put under supervision earlier in the walk
    ("GET", M + "/minutes.docx"): private(),
    ("POST", M + "/tasks/{task_id:int}/supervise"): private(),
    ("GET", "/api/meetings/{meeting_id:int}.ics"): private(),
}
