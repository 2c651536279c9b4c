"""Demo data for ``office demo``: signing keys and seals, so a newcomer can 签发 and 用印 at once.

Without it the demo's 签发 and 用印 answer "not enrolled" / "no usable seal" until someone enrols
and a seal keeper makes a seal. Seeded through the same services a person goes through:

* every 机关领导 and 印章管理员 of each demo agency gets a personal signing key, enrolled by
  ``esign.credentials.enrol`` (private key sealed under the PIN with argon2id + AES-256-GCM,
  certificate from the agency CA, a transparency-log entry and an audit entry), all under the one
  demo PIN that ``office demo`` prints next to the password;
* the agency's seal keeper makes its 公章 and a 名章 for each leader (a 令 carries the 签发人's
  签名章), their seal keys sealed under the same PIN.

No 处室 seals: each key costs an argon2id derivation (about 0.5 s here), and 15 of them would
double the first start for seals nothing in the demo uses.

The PIN is a demo fixture like the password: it is printed by ``office demo`` / ``scripts/run``
and nowhere else (not logged, not stored in clear).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from esign import credentials, seals
from esign.models import SealKind
from office.accounts import load_actor
from office.demo import DEMO_PIN
from office.directory.service import users_with_role
from office.models import Department, DeptKind, Role


def seed(session: Session, *, pin: str = DEMO_PIN) -> None:
    agencies = session.exec(
        select(Department).where(Department.kind == DeptKind.agency).order_by(col(Department.id))
    ).all()
    for agency in agencies:
        assert agency.id is not None
        leaders = users_with_role(session, Role.leader, agency_id=agency.id)
        keepers = users_with_role(session, Role.seal_keeper, agency_id=agency.id)
        for user_id in dict.fromkeys([*leaders, *keepers]):
            if credentials.current_credential(session, user_id) is None:
                credentials.enrol(session, load_actor(session, user_id), pin=pin)
        if not keepers:
            continue
        keeper = load_actor(session, keepers[0])
        seals.create_seal(session, keeper, kind=SealKind.official, seal_pin=pin)
        for leader in leaders:
            seals.create_seal(session, keeper, kind=SealKind.name, holder_user_id=leader, seal_pin=pin)
