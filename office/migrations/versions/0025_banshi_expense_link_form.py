"""办事: the built-in 差旅费报销's 出差审批单 names its form (``link_form: travel``) in existing agencies

Agencies given their built-in forms before the field had ``link_form`` hold versions whose 出差审批单
accepts any request of the applicant (the server checks ``link_form`` only where the field has it).
Each version of a template made from the built-in 差旅费报销 gets it on its ``trip`` link field, as
new agencies get it from banshi/builtin.py. Plain SQL: no model code.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_VERSION = sa.table("bs_template_version", sa.column("id", sa.Integer), sa.column("template_id", sa.Integer),
                    sa.column("fields", sa.JSON))  # fmt: skip
_TEMPLATE = sa.table("bs_template", sa.column("id", sa.Integer), sa.column("builtin", sa.String))
_ROWS = (
    sa.select(_VERSION.c.id, _VERSION.c.fields)
    .join(_TEMPLATE, _TEMPLATE.c.id == _VERSION.c.template_id)
    .where(_TEMPLATE.c.builtin == "expense")
)


def _set(link_form: str | None) -> None:
    bind = op.get_bind()
    for vid, raw in bind.execute(_ROWS).all():
        fields = [dict(f) for f in raw]
        changed = False
        for f in fields:
            if f.get("key") == "trip" and f.get("type") == "link" and f.get("to") == "request":
                if link_form and "link_form" not in f:
                    f["link_form"], changed = link_form, True
                elif not link_form and "link_form" in f:
                    del f["link_form"]
                    changed = True
        if changed:
            bind.execute(sa.update(_VERSION).where(_VERSION.c.id == vid).values(fields=fields))


def upgrade() -> None:
    _set("travel")


def downgrade() -> None:
    _set(None)
