"""Character-level diff between two versions of a body, for 修订痕迹 display.

Chinese has no spaces, so words are not a useful unit: the diff runs over characters with
``difflib.SequenceMatcher(autojunk=False)`` (autojunk would treat frequent characters such as
的 or ， as junk in long texts). Who changed what and when is the caller's business.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from typeset.layout import Block, Heading, ListItem, Paragraph, Table

OpKind = Literal["equal", "insert", "delete"]


@dataclass(frozen=True)
class DiffOp:
    op: OpKind
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"op": self.op, "text": self.text}


def body_text(blocks: Sequence[Block]) -> str:
    """Plain text of a body, one block per line (tables as tab-separated rows)."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            lines.extend("\t".join(row) for row in block.rows)
        elif isinstance(block, ListItem):
            lines.append(block.marker + block.text)
        elif isinstance(block, Heading | Paragraph):
            lines.append(block.text)
    return "\n".join(lines)


def diff_text(old: str, new: str) -> list[DiffOp]:
    """Ops that turn ``old`` into ``new``; a replacement is a delete followed by an insert.

    Adjacent ops of the same kind are merged, so the list alternates and joins back exactly:
    ``"".join(o.text for o in ops if o.op != "insert") == old`` and likewise for ``new``.
    """
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    ops: list[DiffOp] = []

    def push(kind: OpKind, text: str) -> None:
        if not text:
            return
        if ops and ops[-1].op == kind:
            ops[-1] = DiffOp(kind, ops[-1].text + text)
        else:
            ops.append(DiffOp(kind, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            push("equal", old[i1:i2])
        else:
            push("delete", old[i1:i2])
            push("insert", new[j1:j2])
    return ops


def diff_bodies(old: Sequence[Block], new: Sequence[Block]) -> list[DiffOp]:
    return diff_text(body_text(old), body_text(new))


def stats(ops: Sequence[DiffOp]) -> dict[str, int]:
    """Characters inserted / deleted / unchanged."""
    out = {"equal": 0, "insert": 0, "delete": 0}
    for op in ops:
        out[op.op] += len(op.text)
    return out
