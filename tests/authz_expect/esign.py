"""Expected authorization outcomes for the e-signature routes (see ``tests/authz_expect`` for the format).

Signatures belong to their signer (hamlet); the agency seal is kept by yorick (印章管理员), who alone
manages it; leaders named as its users apply it. The CA, CRL, transparency log and public verification
are public by design.
"""

from __future__ import annotations

from typing import Any

from tests.authz_expect import REFUSED, everyone, expect, private, public, role_only

KEEPER = "yorick"

EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    # The caller's own credential: every signed-in user, about themselves.
    ("GET", "/api/esign/me"): everyone(),
    ("POST", "/api/esign/enrol"): everyone(REFUSED),
    ("POST", "/api/esign/pin"): everyone(REFUSED),
    ("POST", "/api/esign/revoke"): everyone(REFUSED),
    ("POST", "/api/esign/sign-text"): everyone(REFUSED),
    ("POST", "/api/esign/sign-docx"): everyone(REFUSED),
    ("GET", "/api/esign/signatures/{signature_id:int}"): private(),
    ("POST", "/api/esign/signatures/{signature_id:int}/verify"): private(),
    # Someone else's credential: admins only (osric has none, so the admin's call is refused).
    ("POST", "/api/esign/admin/users/{user_id:int}/revoke"): expect(
        REFUSED, same_dept=403, other_dept=403, other_agency=403, admin=REFUSED, owner_user="prospero"
    ),
    # Seals: the list shows each caller the seals they may use or manage (possibly none).
    ("GET", "/api/esign/seals"): everyone(),
    ("POST", "/api/esign/seals"): role_only(KEEPER, REFUSED),
    ("GET", "/api/esign/seals/preview"): role_only(KEEPER),
    ("GET", "/api/esign/seals/{seal_id:int}"): private(owner_user=KEEPER),
    ("GET", "/api/esign/seals/{seal_id:int}/image"): private(owner_user=KEEPER),
    # The keeper (custodian) may apply the seal with their own PIN; named users may too (not tested here).
    ("POST", "/api/esign/seals/{seal_id:int}/apply"): private(owner_user=KEEPER),
    ("PUT", "/api/esign/seals/{seal_id:int}/users"): role_only(KEEPER),
    ("POST", "/api/esign/seals/{seal_id:int}/suspend"): role_only(KEEPER),
    ("POST", "/api/esign/seals/{seal_id:int}/resume"): role_only(KEEPER, REFUSED),  # not suspended any more
    ("POST", "/api/esign/seals/{seal_id:int}/revoke"): role_only(KEEPER),
    ("GET", "/api/esign/seals/{seal_id:int}/uses"): role_only(KEEPER),
    # 用印授权: the keeper sets the rule (a body-less call is refused) and reads the seal's grants.
    ("PUT", "/api/esign/seals/{seal_id:int}/policy"): role_only(KEEPER, REFUSED),
    ("GET", "/api/esign/seals/{seal_id:int}/authorisations"): role_only(KEEPER),
    # Public verification material.
    ("GET", "/api/esign/ca/chain.pem"): public(),
    ("GET", "/api/esign/ca/root/crl"): public(),
    ("GET", "/api/esign/ca/{agency_id:int}/crl"): public(),
    ("GET", "/api/esign/log/sth"): public(),
    ("GET", "/api/esign/log/proof"): public(REFUSED),
    ("GET", "/api/esign/log/consistency"): public(),
    ("POST", "/api/esign/verify"): public(REFUSED),
}
