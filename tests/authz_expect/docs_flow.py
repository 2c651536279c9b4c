"""Expected authorization outcomes for 办文 routes (see ``tests/authz_expect`` for the format).

The document is hamlet's draft: nobody else in his agency, department or elsewhere can see it, and
the administrator cannot either. Templates and numbers belong to admins and clerks (gertrude).
"""

from __future__ import annotations

from typing import Any

from tests.authz_expect import OK, REFUSED, admin_only, everyone, expect, private, role_only

CLERK = "gertrude"
IN = "/api/incoming/{incoming_id:int}"

EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/docs/meta"): everyone(),
    ("GET", "/api/docs"): everyone(),  # each caller's own boxes
    ("POST", "/api/docs"): everyone(REFUSED),
    ("GET", "/api/docs/templates"): admin_only(),
    ("PUT", "/api/docs/templates/{doc_type}"): admin_only(REFUSED),
    ("GET", "/api/docs/numbers"): admin_only(),
    ("POST", "/api/docs/numbers"): admin_only(REFUSED),
    ("POST", "/api/docs/numbers/{number_id:int}/void"): admin_only(REFUSED),
    ("GET", "/api/docs/delegations"): everyone(),
    ("POST", "/api/docs/delegations"): everyone(REFUSED),  # to othello, of agency B: refused for all
    ("DELETE", "/api/docs/delegations/{delegation_id:int}"): private(),
    ("GET", "/api/docs/{doc_id:int}"): private(),
    ("PUT", "/api/docs/{doc_id:int}"): private(),
    ("POST", "/api/docs/{doc_id:int}/actions"): private(),
    ("POST", "/api/docs/{doc_id:int}/number"): private(403),  # a reader, but not at the 编号 step
    # 联合行文: a draft of one issuer is no joint seal step (409); hidden from everyone else
    ("POST", "/api/docs/{doc_id:int}/joint-seal"): private(REFUSED),
    ("GET", "/api/docs/{doc_id:int}/versions"): private(),
    ("GET", "/api/docs/{doc_id:int}/versions/{no:int}"): private(),
    ("GET", "/api/docs/{doc_id:int}/diff"): private(),
    ("GET", "/api/docs/{doc_id:int}/comments"): private(),
    ("POST", "/api/docs/{doc_id:int}/comments"): private(),
    ("GET", "/api/docs/{doc_id:int}/docx"): private(),  # a draft downloads with a blank 〔　　〕号
    ("GET", "/api/docs/{doc_id:int}/pdf"): private(404),  # a reader's draft has no sealed official copy yet
    ("GET", "/api/docs/{doc_id:int}/ofd"): private(404),  # likewise the OFD copy
    ("POST", "/api/docs/{doc_id:int}/import"): private(),
    ("POST", "/api/docs/{doc_id:int}/attachments"): private(),
    ("GET", "/api/docs/{doc_id:int}/attachments/{file_id:int}"): private(),
    # Bound attachments (随文装订): edited like the body, by its drafter while drafting
    ("PATCH", "/api/docs/{doc_id:int}/attachments/{file_id:int}"): private(),
    ("GET", "/api/docs/{doc_id:int}/annexes"): private(),
    ("POST", "/api/docs/{doc_id:int}/annexes"): private(),
    ("POST", "/api/docs/{doc_id:int}/annexes/import"): private(),
    ("GET", "/api/docs/{doc_id:int}/conformance"): private(),
    ("GET", "/api/docs/{doc_id:int}/receipts"): private(),
    ("POST", "/api/docs/check"): everyone(REFUSED),  # checks an uploaded file; nothing stored
    # 收文: registered by the clerk gertrude; only the people on its route see it.
    ("GET", "/api/incoming/meta"): everyone(),
    ("GET", "/api/incoming"): everyone(),
    ("POST", "/api/incoming"): role_only(CLERK, REFUSED),
    ("GET", IN): private(owner_user=CLERK),
    ("PUT", IN): private(owner_user=CLERK),
    ("DELETE", IN): private(REFUSED, owner_user=CLERK),  # 登记 (an action earlier in the walk) gave it a number
    ("POST", IN + "/actions"): private(owner_user=CLERK),
    ("POST", IN + "/files"): private(owner_user=CLERK),
    ("GET", IN + "/files/{file_id:int}"): private(owner_user=CLERK),
    ("POST", IN + "/reply"): private(owner_user=CLERK),
    ("POST", IN + "/circulations"): private(owner_user=CLERK),
    # Circulations and archive packages need a document far along its route; the world has none, so
    # these rows check only that a missing id answers 404 to everyone (tests/docs_flow cover the rest).
    ("POST", "/api/incoming/circulations/{circulation_id:int}/read"): expect(
        404, same_dept=404, other_dept=404, other_agency=404, admin=404
    ),
    # 督办: an item gertrude opened for 秘书处 (A2). Managers are leaders, clerks and admins of the agency.
    ("GET", "/api/supervision/dashboard"): everyone(),
    ("GET", "/api/supervision/items"): everyone(),  # each caller sees the items they own or manage
    ("POST", "/api/supervision/items"): expect(
        REFUSED, same_dept=403, other_dept=403, other_agency=403, admin=REFUSED, owner_user=CLERK
    ),
    ("POST", "/api/supervision/items/{item_id:int}/remind"): expect(
        OK, same_dept=403, other_dept=403, other_agency=403, admin=OK, owner_user=CLERK
    ),
    ("POST", "/api/supervision/items/{item_id:int}/escalate"): expect(
        OK, same_dept=403, other_dept=403, other_agency=403, admin=OK, owner_user=CLERK
    ),
    ("POST", "/api/supervision/items/{item_id:int}/complete"): expect(  # the admin, who runs first, completes it
        REFUSED, same_dept=404, other_dept=404, other_agency=404, admin=OK, owner_user=CLERK
    ),
    ("GET", "/api/supervision/export"): everyone(),
    ("GET", "/api/supervision/schedule"): everyone(),
    ("PUT", "/api/supervision/schedule"): admin_only(REFUSED),
    ("GET", "/api/archive"): everyone(),
    ("GET", "/api/archive/{archive_id:int}"): expect(404, same_dept=404, other_dept=404, other_agency=404, admin=404),
    ("GET", "/api/archive/{archive_id:int}/download"): expect(
        404, same_dept=404, other_dept=404, other_agency=404, admin=404
    ),
    ("GET", "/api/archive/{archive_id:int}/verify"): expect(
        404, same_dept=404, other_dept=404, other_agency=404, admin=404
    ),
    ("POST", "/api/archive/{archive_id:int}/destroy"): admin_only(REFUSED),
    ("GET", "/api/search"): everyone(),  # only documents the caller may read
}
