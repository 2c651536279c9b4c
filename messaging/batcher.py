"""Chat's group commit is ``office.groupcommit.GroupCommit``: sends and read marks are queued, written
together in one durable transaction, and acknowledged (HTTP 201 or a ``chat.ack`` frame) only after
that commit. Plain sends carry a ``batch_type`` (``messaging.sendbatch``) and are written as runs
with multi-row statements."""

from office.groupcommit import GroupCommit

__all__ = ["GroupCommit"]
