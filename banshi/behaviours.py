"""What a built-in form does beyond its fields and route (leave balances, travel allowances, seal
authorisation), keyed by ``FormTemplate.builtin`` — never by the name an administrator may change.

The modules that give built-in forms their behaviour ``register`` one each; the service asks
``behaviour_for(template)`` at preview and submission (``prepare``), in the transaction of the final
approval (``approved``) and for the request page (``info``).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlmodel import Session

from banshi.models import ApprovalRequest, FormTemplate
from office.actor import Actor


class Behaviour(Protocol):
    def prepare(
        self, session: Session, applicant: Actor, template: FormTemplate, values: dict[str, Any]
    ) -> dict[str, Any]:
        """Extra computed values merged into the cleaned ones before submission; may raise
        ``ValidationError`` (annual leave beyond the balance)."""
        ...

    def approved(self, session: Session, request: ApprovalRequest) -> None:
        """In the same transaction as the final approval."""
        ...

    def undone(self, session: Session, request: ApprovalRequest) -> None:
        """An approved request revoked later."""
        ...

    def info(self, session: Session, viewer: Actor, request: ApprovalRequest) -> dict[str, Any]:
        """An extra block for the request page (balance, standards used, seal authorisation)."""
        ...


_registry: dict[str, Behaviour] = {}


def register(builtin: str, behaviour: Behaviour) -> None:
    """One behaviour per built-in form; registering the same object again is a no-op."""
    if _registry.setdefault(builtin, behaviour) is not behaviour:
        raise RuntimeError(f"behaviour for built-in form {builtin!r} registered twice")


def behaviour_for(template: FormTemplate) -> Behaviour | None:
    return _registry.get(template.builtin) if template.builtin else None
