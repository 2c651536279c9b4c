"""Per-process caches of who people are, kept exact in every process by the ``cache_change`` log.

A process caches actors (roles, posts, agency), the set of roles that must use two-factor login,
and may hold the in-memory directory index (``office.directory.index``). Whatever could change
them records a ``CacheChange`` row in the same transaction: ``record`` in the bulk helpers, and a
``before_flush`` hook for every ORM change to users, roles, posts, search keys, departments and
role policies. Each request reads the newest ``seq`` in the same query as its session row; when it
is ahead of what this process has applied, ``sync`` applies the rows in between before any cached
entry is trusted. So a role change or a moved post takes effect on the very next request in every
process, whichever process (or the CLI) committed it. Sessions themselves (revocation, expiry, the
TOTP step) and the account's active and 2FA flags are never cached: they are read on every request.

An entry is tagged with the ``seq`` of the snapshot it was read in and is valid only if no change
for that user (or for everyone) came after it, so a slow reader cannot put back what a change has
since replaced. Entries are stored only from read-only sessions, never from a write transaction
that might still roll back, and a write transaction that changed a user never reads that user's
entry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, event, func
from sqlmodel import Session, col, select

from office.db import utcnow
from office.models import CacheChange, Department, DirectoryKey, Post, RolePolicy, User, UserRole

if TYPE_CHECKING:
    from office.db import Database

EVERYONE = None
RESET_AFTER = 50_000  # more tracked users than this: start over rather than grow without bound
# A hook gets (db, session, newest seq) inside sync's read transaction, under the state's lock, and
# catches up from wherever it is (office.directory.index keeps its own seq).
Hook = Callable[["Database", Session, int], None]


class CacheState:
    """One database's caches in this process (tests run many databases in one process)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.applied = 0  # newest change seq applied here
        self.floor = 0  # entries read before this seq are stale (a change for everyone)
        self.last_change: dict[int, int] = {}
        self.entries: dict[Any, tuple[int, Any]] = {}
        self.hooks: list[Hook] = []
        self.directory_index: Any = None  # office.directory.index keeps its index here
        self.directory_building = False


def state(db: Database) -> CacheState:
    found = getattr(db, "_cache_state", None)
    if found is None:
        with _create_lock:
            found = getattr(db, "_cache_state", None)
            if found is None:
                found = db._cache_state = CacheState()  # type: ignore[attr-defined]
    return found


_create_lock = threading.Lock()


# Recording changes (writers) ----------------------------------------------------------------------


def record(session: Session, user_ids: Iterable[int] | None) -> None:
    """Note that these users (None: everyone) changed; the rows commit with the caller's transaction."""
    done: set[int | None] = session.info.setdefault("cache_changed", set())
    for uid in [EVERYONE] if user_ids is None else user_ids:
        if uid not in done:
            done.add(uid)
            session.add(CacheChange(user_id=uid))


def changed_here(session: Session, user_id: int) -> bool:
    done = session.info.get("cache_changed", ())
    return user_id in done or EVERYONE in done


@event.listens_for(Session, "before_flush")
def _track_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    users: set[int] = set()
    everyone = False
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, CacheChange):
            continue
        if isinstance(obj, User):
            if obj.id is not None and (obj in session.new or obj in session.deleted or session.is_modified(obj)):
                users.add(obj.id)
        elif isinstance(obj, (Post, UserRole, DirectoryKey)):
            users.add(obj.user_id)
        elif isinstance(obj, (Department, RolePolicy)):
            everyone = everyone or obj in session.new or obj in session.deleted or session.is_modified(obj)
    if users:
        record(session, users)
    if everyone:
        record(session, None)


# Reading --------------------------------------------------------------------------------------------


def newest_seq_query() -> Any:
    return select(func.max(CacheChange.seq)).scalar_subquery()


def seen(session: Session, seq: int | None) -> None:
    """The request's snapshot has changes up to ``seq``: apply any this process has not seen yet."""
    seq = seq or 0
    session.info["cache_seq"] = seq
    db = session.info.get("db")
    if db is not None and seq > state(db).applied:
        sync(db)


def ensure_seen(session: Session) -> int:
    if "cache_seq" not in session.info:
        seen(session, session.exec(select(func.max(CacheChange.seq))).one())
    return int(session.info["cache_seq"])


def sync(db: Database) -> None:
    """Apply every change committed since this process last looked (its own included)."""
    st = state(db)
    with st.lock, db.read() as s:
        newest = s.exec(select(func.max(CacheChange.seq))).one() or 0
        if newest <= st.applied:
            return
        if st.applied == 0 or pruned_past(s, st.applied):
            # First look, or the log was pruned past us: nothing cached can be vouched for.
            st.entries.clear()
            st.last_change.clear()
            st.floor = newest
        else:
            rows = s.exec(
                select(CacheChange.seq, CacheChange.user_id)
                .where(col(CacheChange.seq) > st.applied)
                .where(col(CacheChange.seq) <= newest)
            ).all()
            for seq, uid in rows:
                assert seq is not None  # a stored row's key
                if uid is None:
                    st.floor = max(st.floor, seq)
                    st.entries.clear()
                else:
                    st.last_change[uid] = max(st.last_change.get(uid, 0), seq)
                    st.entries.pop(("actor", uid), None)
        # The index catches up before ``applied`` moves: the event-loop fast path trusts what it sees
        # only while the newest seq equals ``applied``.
        for hook in list(st.hooks):
            hook(db, s, newest)
        st.applied = newest
        if len(st.last_change) > RESET_AFTER:
            _reset(st, newest)


def pruned_past(session: Session, seq: int) -> bool:
    """Have rows after ``seq`` possibly been pruned (so the log no longer says who changed)?"""
    oldest = session.exec(select(func.min(CacheChange.seq))).one()
    return oldest is None or oldest > seq + 1


def _reset(st: CacheState, newest: int) -> None:
    st.entries.clear()
    st.last_change.clear()
    st.floor = st.applied = newest


def get(session: Session, key: Any, user_id: int | None = None) -> Any | None:
    """A cached value still valid for this session's snapshot, or None."""
    db = session.info.get("db")
    if db is None:
        return None
    if session.info.get("cache_changed") and (user_id is None or changed_here(session, user_id)):
        return None  # this transaction changed it: what is cached is what it replaced
    ensure_seen(session)
    return _get(state(db), key, user_id)


def _get(st: CacheState, key: Any, user_id: int | None) -> Any | None:
    entry = st.entries.get(key)
    if entry is None:
        return None
    seq, value = entry
    if seq < st.floor or (user_id is not None and seq < st.last_change.get(user_id, 0)):
        return None
    return value


def peek(db: Database, key: Any, user_id: int | None = None) -> Any | None:
    """For the event-loop fast path, which has checked that nothing changed since ``applied``."""
    return _get(state(db), key, user_id)


def cached(st: CacheState, key: Any, user_id: int | None = None) -> Any | None:
    """``peek`` for a caller already holding the database's ``CacheState``."""
    return _get(st, key, user_id)


def put(session: Session, key: Any, value: Any, user_id: int | None = None) -> None:
    db = session.info.get("db")
    if db is None or not session.info.get("read_only"):
        return
    seq = ensure_seen(session)
    st = state(db)
    with st.lock:
        if seq < st.floor or (user_id is not None and seq < st.last_change.get(user_id, 0)):
            return
        if len(st.entries) > 20_000:
            st.entries.clear()
        st.entries[key] = (seq, value)


def prune(db: Database, *, keep: timedelta = timedelta(days=1)) -> None:
    """Drop old change rows, always keeping the newest (a process behind the cut starts over)."""
    with db.write() as s:
        newest = s.exec(select(func.max(CacheChange.seq))).one()
        if newest is not None:
            s.execute(
                delete(CacheChange).where(
                    col(CacheChange.at) < utcnow() - keep,
                    col(CacheChange.seq) < newest,
                )
            )
