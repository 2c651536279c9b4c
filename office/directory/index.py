"""The directory search index in memory: typeahead without a database round trip.

The ``directory_key`` rows (name suffixes, full pinyin and its suffixes, initials, title,
departments) are grouped by match quality ``(weight, len(key))`` — which is exactly how search
ranks a hit, whatever the query — and each group is a sorted list, so a query walks the groups
best first, bisects to its prefix and stops as soon as it has ``limit`` people. Each active
person's card is kept already encoded as JSON, so a response is a join of bytes.

It stays exact through ``office.actor_cache``: every change to a person records a ``cache_change``
row, and ``sync`` (run by any request that sees a newer row) reloads those people here before the
request is answered. A reload never edits a list in place: it builds the changed groups anew and
swaps them in, so a search running meanwhile on another thread sees either the old or the new
group. Old keys of a reloaded person stay in the lists, marked stale by a per-person version, until
there are enough of them to rebuild.
"""

from __future__ import annotations

import json
import logging
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from office import actor_cache
from office.directory.visibility import OPEN_ROLES, Scope, sees
from office.models import CacheChange, Department, DirectoryKey, Post, Role, User, UserRole

if TYPE_CHECKING:
    from office.db import Database

log = logging.getLogger("office.directory.index")
BACKGROUND_ABOVE = 5_000  # people: built at startup, and rebuilt in a thread (SQL meanwhile); below, inline
VISIT_BUDGET = 20_000  # keys one query may look at (a department filter that matches almost nobody)
CHUNK = 500
ANSWERS = 4_096  # answers remembered per generation of the index (emptied when full)


class Group:
    """All keys of one match quality, sorted; ``uids``/``vers`` run parallel to ``keys``."""

    __slots__ = ("rank", "keys", "uids", "vers")

    def __init__(self, rank: tuple[int, int], entries: list[tuple[str, int, int]]) -> None:
        entries.sort()
        self.rank = rank
        self.keys = [e[0] for e in entries]
        self.uids = array("q", [e[1] for e in entries])
        self.vers = array("I", [e[2] for e in entries])

    def adding(self, entries: list[tuple[str, int, int]]) -> Group:
        """A copy with these entries inserted in order (the original is left untouched for readers)."""
        copy = Group(self.rank, [])
        copy.keys, copy.uids, copy.vers = list(self.keys), array("q", self.uids), array("I", self.vers)
        for key, uid, ver in sorted(entries):
            i = bisect_right(copy.keys, key)
            copy.keys.insert(i, key)
            copy.uids.insert(i, uid)
            copy.vers.insert(i, ver)
        return copy


class DirectoryIndex:
    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.groups: list[Group] = []
        self.cards: dict[int, bytes] = {}  # active people only
        self.depts: dict[int, tuple[int, ...]] = {}
        self.seen: dict[int, Seen] = {}  # what ``visibility.sees`` asks of each person
        self.version: dict[int, int] = {}
        self.reloaded = 0  # people reloaded since the build (their old keys linger, stale)
        # Typeahead repeats itself (everyone looking for 张 types "zh" first), so finished answers
        # are kept, keyed by the generation they were computed in. A reload starts a new generation:
        # an answer a search was computing meanwhile is stored under the old one and never served.
        self.generation = 0
        self._answers: dict[tuple[int, str, int | None, int, Scope], bytes] = {}

    # building and reloading --------------------------------------------------------------------
    @classmethod
    def load(cls, session: Session) -> DirectoryIndex:
        index = cls(session.exec(select(func.max(CacheChange.seq))).one() or 0)  # first: the snapshot's seq
        # Streamed through the driver in key order (780,000 rows for 100,000 people) straight into
        # each group's arrays: no per-row objects to sort, and each distinct key stored once.
        groups: dict[tuple[int, int], Group] = {}
        distinct: dict[str, str] = {}
        conn = session.connection()
        # Code point order, as Python compares (and bisects) strings: SQLite's BINARY is that already.
        order = 'key COLLATE "C"' if conn.dialect.name == "postgresql" else "key"
        for uid, key, weight in conn.exec_driver_sql(
            f"SELECT user_id, key, weight FROM directory_key ORDER BY {order}, user_id"
        ):
            key = distinct.setdefault(key, key)
            rank = (weight, len(key))
            group = groups.get(rank)
            if group is None:
                group = groups[rank] = Group(rank, [])
            group.keys.append(key)
            group.uids.append(uid)
            group.vers.append(0)
        index.groups = [groups[rank] for rank in sorted(groups)]
        index.cards, index.depts, index.seen = _cards(session, None)
        return index

    def reload(self, session: Session, user_ids: set[int], seq: int) -> bool:
        """Reload these people; False when so many changed that a full rebuild is due."""
        self.reloaded += len(user_ids)
        if self.reloaded > max(2_000, len(self.cards) // 10):
            return False
        ids = sorted(user_ids)
        cards, depts, seen = _cards(session, ids)
        fresh = {uid: self.version.get(uid, 0) + 1 for uid in ids}
        added: dict[tuple[int, int], list[tuple[str, int, int]]] = defaultdict(list)
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            for uid, key, weight in session.exec(
                select(DirectoryKey.user_id, DirectoryKey.key, DirectoryKey.weight).where(
                    col(DirectoryKey.user_id).in_(part)
                )
            ).all():
                added[(weight, len(key))].append((key, uid, fresh[uid]))
        groups = {g.rank: g for g in self.groups}
        for rank, entries in added.items():
            groups[rank] = groups[rank].adding(entries) if rank in groups else Group(rank, entries)
        # Swap in the new groups, then the versions: in between, a search sees this person's old keys
        # (still current) or nobody; never a mix of two lists.
        self.groups = sorted(groups.values(), key=lambda g: g.rank)
        self.version.update(fresh)
        for uid in ids:
            if uid in cards:
                self.cards[uid], self.depts[uid], self.seen[uid] = cards[uid], depts[uid], seen[uid]
            else:
                self.cards.pop(uid, None)
                self.depts.pop(uid, None)
                self.seen.pop(uid, None)
        self.seq = seq
        self.generation += 1
        self._answers = {}
        return True

    # searching ---------------------------------------------------------------------------------
    def search(self, q: str, *, department_id: int | None, limit: int, scope: Scope = None) -> list[int]:
        """Best matches first: by (weight, key length), then key, then id; active people only, and of
        them those ``scope`` sees (``office.directory.visibility``)."""
        found: list[int] = []
        seen: set[int] = set()
        budget = VISIT_BUDGET
        cards, depts, version, shown = self.cards, self.depts, self.version, self.seen
        for group in self.groups:
            if group.rank[1] < len(q):
                continue
            keys, uids, vers = group.keys, group.uids, group.vers
            i, n = bisect_left(keys, q), len(keys)
            while i < n and keys[i].startswith(q):
                uid = uids[i]
                if uid not in seen and vers[i] == version.get(uid, 0) and uid in cards:
                    seen.add(uid)
                    if (department_id is None or department_id in depts[uid]) and (
                        scope is None or sees(scope, *shown[uid])
                    ):
                        found.append(uid)
                        if len(found) >= limit:
                            return found
                i += 1
                budget -= 1
                if budget <= 0:
                    return found
        return found

    def answer(self, q: str, *, department_id: int | None, limit: int, scope: Scope = None) -> bytes:
        """``render(search(...))``, remembered for this generation of the index (per ``scope``: one
        agency's staff share their answers)."""
        key = (self.generation, q, department_id, limit, scope)
        answers = self._answers
        body = answers.get(key)
        if body is None:
            body = self.render(self.search(q, department_id=department_id, limit=limit, scope=scope) if q else [])
            if len(answers) >= ANSWERS:
                answers.clear()
            answers[key] = body
        return body

    def render(self, user_ids: Iterable[int]) -> bytes:
        cards = self.cards
        return b'{"items":[' + b",".join(cards[u] for u in user_ids if u in cards) + b"]}"


Seen = tuple[tuple[int | None, ...], frozenset[Role]]  # a person's agencies and the open roles they hold


def _cards(
    session: Session, ids: list[int] | None
) -> tuple[dict[int, bytes], dict[int, tuple[int, ...]], dict[int, Seen]]:
    """Each active person's search card encoded as the JSON API would, their department ids, and
    their agencies and open roles (``visibility.sees``)."""
    from office.directory.service import person_public

    # Compiled and run by ``_rows``; SQLAlchemy's own ``select`` types a select of this many columns.
    users = sa_select(
        *(col(c) for c in (User.id, User.username, User.name, User.pinyin, User.phone, User.office, User.email)),
        col(User.staff_no),
    ).where(col(User.is_active) == True)  # noqa: E712
    posts = (
        sa_select(
            col(Post.user_id),
            col(Post.department_id),
            col(Department.name),
            col(Department.agency_id),
            col(Post.title),
            col(Post.is_primary),
            col(Post.rank),
        )
        .join(Department, col(Department.id) == Post.department_id)
        .order_by(col(Post.is_primary).desc(), col(Post.rank))
    )
    chunks: list[list[int] | None] = (
        [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)] if ids is not None else [None]
    )
    open_roles = sa_select(col(UserRole.user_id), col(UserRole.role)).where(
        col(UserRole.role).in_(sorted(r.value for r in OPEN_ROLES))  # plain text: ``_rows`` binds raw values
    )
    user_rows: list[Any] = []
    by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    roles: dict[int, set[Role]] = defaultdict(set)
    for part in chunks:
        u_stmt = users if part is None else users.where(col(User.id).in_(part))
        p_stmt = posts if part is None else posts.where(col(Post.user_id).in_(part))
        r_stmt = open_roles if part is None else open_roles.where(col(UserRole.user_id).in_(part))
        user_rows += _rows(session, u_stmt)
        for uid, role in _rows(session, r_stmt):
            roles[uid].add(Role(role))
        for uid, dept_id, dept_name, agency_id, title, is_primary, rank in _rows(session, p_stmt):
            by_user[uid].append(
                {
                    "department_id": dept_id,
                    "department": dept_name,
                    "agency_id": agency_id,
                    "title": title,
                    "is_primary": bool(is_primary),
                    "rank": rank,
                }
            )
    cards: dict[int, bytes] = {}
    depts: dict[int, tuple[int, ...]] = {}
    seen: dict[int, Seen] = {}
    for uid, username, name, pinyin, phone, office, email, staff_no in user_rows:
        user = SimpleNamespace(
            id=uid,
            username=username,
            name=name,
            pinyin=pinyin,
            phone=phone,
            office=office,
            email=email,
            staff_no=staff_no,
            is_active=True,
        )
        person_posts = by_user.pop(uid, [])
        cards[uid] = encode(person_public(user, person_posts))  # type: ignore[arg-type]
        depts[uid] = tuple(p["department_id"] for p in person_posts)
        seen[uid] = (tuple(p["agency_id"] for p in person_posts), frozenset(roles.get(uid, ())))
    return cards, depts, seen


def _rows(session: Session, stmt: Any) -> Any:
    """Plain column tuples straight from the driver: at 100,000 people, Row objects cost seconds."""
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    positional = [params[name] for name in compiled.positiontup] if compiled.positional else params
    return conn.exec_driver_sql(str(compiled), tuple(positional) if compiled.positional else params)


def encode(data: Any) -> bytes:
    """What ``JSONResponse`` would send for ``data``."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


# Keeping one index per database in this process --------------------------------------------------


def current(db: Database) -> DirectoryIndex | None:
    return actor_cache.state(db).directory_index


def ensure(session: Session) -> DirectoryIndex | None:
    """The index, built now if the directory is small; a large one is built in a thread and this
    returns None until it is ready (the caller searches with SQL)."""
    db = session.info["db"]
    index = current(db)
    if index is not None:
        return index
    st = actor_cache.state(db)
    if st.directory_building:
        return None
    people = session.exec(select(func.count()).select_from(User)).one()
    if people > BACKGROUND_ABOVE:
        start_background(db)
        return None
    _build_and_install(db)
    return current(db)


def warm(db: Database) -> None:
    """At startup (before the server listens): build a large directory's index now, so searches
    never wait for it (a few seconds for 100,000 people); a small one is built on first use."""
    with db.read() as s:
        large = s.exec(select(func.count()).select_from(User)).one() > BACKGROUND_ABOVE
    if large:
        _build_and_install(db)


def start_background(db: Database) -> None:
    st = actor_cache.state(db)
    with st.lock:
        if st.directory_building or current(db) is not None:
            return
        st.directory_building = True
    threading.Thread(target=_build_quietly, args=(db,), name="directory-index", daemon=True).start()


def _build_quietly(db: Database) -> None:
    try:
        _build_and_install(db)
    except Exception:  # the database went away (shutdown); searches keep using SQL
        log.warning("directory index build failed", exc_info=True)
    finally:
        actor_cache.state(db).directory_building = False


def _build_and_install(db: Database) -> None:
    with db.read() as s:
        index = DirectoryIndex.load(s)
    st = actor_cache.state(db)
    with st.lock:
        if st.applied > index.seq:  # changes committed while we were loading
            with db.read() as s:
                if not _catch_up(s, index, st.applied):
                    return
        if _hook not in st.hooks:
            st.hooks.append(_hook)
        st.directory_index = index


def _catch_up(session: Session, index: DirectoryIndex, newest: int) -> bool:
    """Reload the people changed after the index's seq; False when a rebuild is due instead."""
    if newest <= index.seq:
        return True
    if actor_cache.pruned_past(session, index.seq):
        return False
    changed = set(
        session.exec(
            select(CacheChange.user_id).where(col(CacheChange.seq) > index.seq, col(CacheChange.seq) <= newest)
        ).all()
    )
    changed.discard(None)
    if changed and not index.reload(session, changed, newest):  # type: ignore[arg-type]
        return False
    index.seq = newest
    return True


def _hook(db: Database, session: Session, newest: int) -> None:
    index = current(db)
    if index is not None and not _catch_up(session, index, newest):
        st = actor_cache.state(db)
        st.directory_index = None  # searches use SQL until it is rebuilt
        if len(index.cards) > BACKGROUND_ABOVE:
            start_background(db)  # a small directory is rebuilt inline on the next search
