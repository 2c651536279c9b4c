"""Expected authorization outcomes for 办事 routes (see ``tests/authz_expect`` for the format).

The world: a form of agency A designed and published by the administrator prospero (one step, polonius
approves); hamlet's request on it, submitted and waiting for polonius; a file hamlet uploaded. Staff of
agency A see A's forms and may start requests on them; othello (agency B) gets 404 for A's form. The
request is read by its applicant and approver only: ophelia, horatio, othello and the administrator get
404, exactly like a missing id. hamlet is not the approver: 同意, 拒绝, 退回, 转交 and 加签 are refused
(403); he may 催办 and 撤销 (run last: it ends the request). The designer and the 分管领导 / offices
settings are the agency administrator's.
"""

from __future__ import annotations

from typing import Any

from tests.authz_expect import REFUSED, admin_only, everyone, expect, private

P = "/api/banshi"
R = P + "/requests/{request_id:int}"
T = P + "/admin/templates/{template_id:int}"
# A form of agency A: its staff use it, another agency's staff get 404 (as for a missing one).
AGENCY_A = expect("2xx", same_dept="2xx", other_dept="2xx", other_agency=404, admin="2xx")

EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", P + "/templates"): everyone(),  # each caller's own agency's forms
    ("GET", P + "/templates/{template_id:int}"): AGENCY_A,
    ("POST", P + "/preview"): AGENCY_A,
    ("POST", P + "/requests"): AGENCY_A,  # a new draft of one's own
    ("GET", P + "/requests"): everyone(),  # each caller's own boxes
    ("POST", P + "/requests/batch-approve"): everyone(),  # per item: what is not theirs to approve is listed as failed
    ("GET", R): private(),
    ("PUT", R): private(REFUSED),  # submitted: no longer editable
    ("POST", R + "/submit"): private(REFUSED),  # already submitted
    ("POST", R + "/approve"): private(403),  # the applicant is not the approver
    ("POST", R + "/reject"): private(403),
    ("POST", R + "/return"): private(403),
    ("POST", R + "/transfer"): private(403),
    ("POST", R + "/add_signer"): private(403),
    ("POST", R + "/withdraw"): private(),  # nobody has acted yet
    ("POST", R + "/urge"): private(),
    ("POST", P + "/files"): everyone(),  # one's own upload, unattached
    ("GET", P + "/files/{file_id:int}"): private(),  # unattached: its uploader only
    ("GET", P + "/admin/templates"): admin_only(),
    ("POST", P + "/admin/templates"): admin_only(),
    ("PUT", T): admin_only(),
    ("GET", T + "/draft"): admin_only(),
    ("PUT", T + "/draft"): admin_only(),
    ("POST", T + "/publish"): admin_only(),
    ("GET", P + "/admin/leaders"): admin_only(),
    ("PUT", P + "/admin/leaders"): admin_only(),
    ("GET", P + "/admin/offices"): admin_only(),
    ("PUT", P + "/admin/offices"): admin_only(),
}

# Leave, personnel records, travel standards, ledgers (banshi.routes_people): the agency's personnel and
# finance offices, which the world leaves unnamed, so every caller is refused (403); one's own balance
# and the agency's travel standards are for everyone.
NOT_OFFICE = expect(403, same_dept=403, other_dept=403, other_agency=403, admin=403)
EXPECTATIONS.update(
    {
        ("GET", P + "/leave/balance"): everyone(),
        ("GET", P + "/leave/people"): NOT_OFFICE,
        ("GET", P + "/leave/people/{user_id:int}"): NOT_OFFICE,
        ("POST", P + "/leave/people/{user_id:int}"): NOT_OFFICE,
        ("PUT", P + "/personnel/{user_id:int}"): NOT_OFFICE,
        ("GET", P + "/travel-standards"): everyone(),
        ("PUT", P + "/travel-standards"): NOT_OFFICE,
        ("GET", P + "/ledger"): NOT_OFFICE,
        ("GET", P + "/ledger.xlsx"): NOT_OFFICE,
        # The proof (banshi.routes_proof): the QR of a request not yet approved is refused to its applicant.
        ("GET", R + "/qr.svg"): private(REFUSED),
        ("GET", P + "/verify"): everyone(),  # any staff checks a printed slip: valid or not
        ("GET", P + "/seals"): everyone(),  # the seals of one's own agency, for the 用印申请 form
    }
)
