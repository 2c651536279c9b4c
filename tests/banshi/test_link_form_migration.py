"""Migration 0025 gives the built-in 差旅费报销's 出差审批单 of existing agencies its ``link_form`` (the
server checks it only where the field has it); downgrading takes it away again. Other forms untouched."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlmodel import select

from banshi.models import FormTemplate, FormVersion
from office.config import Settings
from office.db import Database
from office.migrate import alembic_config, upgrade

TRIP = {"key": "trip", "label": "出差审批单", "type": "link", "to": "request", "required": False}


def _trips(db: Database) -> dict[str, Any]:
    with db.read() as s:
        rows = s.exec(select(FormVersion)).all()
        names = {t.id: t.builtin for t in s.exec(select(FormTemplate)).all()}
    return {names[r.template_id]: r.fields[0] for r in rows}


def test_existing_expense_forms_gain_link_form(settings: Settings) -> None:
    db = Database(settings)
    upgrade(db)
    command.downgrade(alembic_config(db), "0024")
    with db.write() as s:
        for builtin in ("expense", "purchase"):
            t = FormTemplate(agency_id=1, code=builtin, name=builtin, builtin=builtin)
            s.add(t)
            s.flush()
            s.add(FormVersion(template_id=t.id or 0, no=1, fields=[dict(TRIP)], route={}, options={}))
    command.upgrade(alembic_config(db), "head")
    assert _trips(db) == {"expense": {**TRIP, "link_form": "travel"}, "purchase": TRIP}
    command.downgrade(alembic_config(db), "0024")
    assert _trips(db) == {"expense": TRIP, "purchase": TRIP}
    command.upgrade(alembic_config(db), "head")
    db.dispose()
