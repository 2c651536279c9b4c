"""``/metrics`` in the Prometheus text format, and the counters the rest of the code bumps.

Counters and histograms live in prometheus-client's default registry and are bumped where things
happen (one line each: a request in ``office.logs.RequestLog``, a group commit, a login failure, a
公文 step …). What is a state rather than a count (open sockets, queue depths, the WAL's size, the
pool in use) is read at scrape time from the app that answers, so the hot paths pay nothing for it.

Several uvicorn workers: start them with ``PROMETHEUS_MULTIPROC_DIR`` set to an empty folder
(prometheus-client's multiprocess mode). Counters and histograms are then summed over the workers
by whichever one answers; the scrape-time gauges describe that one worker only (README: metrics).

Who may read it: loopback always; other addresses only those in ``OFFICE_METRICS_ALLOW`` or a
request with ``Authorization: Bearer`` ``OFFICE_METRICS_TOKEN``. Anyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

disable_created_metrics()  # no ``_created`` series beside every counter: noise to a scraper
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter("office_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("office_http_request_seconds", "time to answer, per route template", ["route"], buckets=_LATENCY)
EVENTS_PUBLISHED = Counter("office_events_published", "events committed with recipients, handed to the hub")
SLOW_CLOSES = Counter("office_hub_slow_client_closes", "sockets closed because their queue was full (1013)")
GC_BATCH = Histogram(
    "office_group_commit_batch_size", "items per group commit", ["name"], buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500)
)
GC_SECONDS = Histogram("office_group_commit_seconds", "one group commit's transaction", ["name"], buckets=_LATENCY)
WRITE_REFUSED = Counter(
    "office_write_queue_refused", "work refused because a writer's queue was full or the loop late (503)", ["name"]
)
LAG_REFUSED = Counter(
    "office_loop_lag_refused", "work refused because the event loop ran late (office/looplag.py)", ["name"]
)
LOGIN_FAILURES = Counter("office_login_failures", "failed logins (password or code)", ["kind"])
LOCKOUTS = Counter("office_login_lockouts", "logins refused by a lockout", ["scope"])
# The domains' counters, read off the events they commit (so a rolled-back write counts nothing,
# and no domain module carries a metrics line): see ``events_committed``.
DOC_STEPS = Counter("office_docs_transitions", "公文 route actions, by action and the step entered", ["op", "step"])
MESSAGES_SENT = Counter("office_messages_sent", "chat messages committed (工作通知 included)")
BANSHI_SUBMITTED = Counter("office_banshi_submitted", "办事 requests submitted")
TIANBAO_RETURNS = Counter("office_tianbao_returns", "数据填报 returns changed, by their new status", ["status"])


def _doc_case(p: dict[str, Any]) -> None:
    DOC_STEPS.labels(str(p.get("op")), str(p.get("step") or "-")).inc()


def _banshi(p: dict[str, Any]) -> None:
    if p.get("op") == "submit":
        BANSHI_SUBMITTED.inc()


_BY_TYPE: dict[str, Callable[[dict[str, Any]], None]] = {
    "docs.case": _doc_case,
    "chat.message": lambda _p: MESSAGES_SENT.inc(),
    "banshi.request": _banshi,
    "tianbao.return": lambda p: TIANBAO_RETURNS.labels(str(p.get("status"))).inc(),
}


def events_committed(events: list[Any]) -> None:
    """Called by ``office.events.deliver`` with each commit's events (one dict lookup per event)."""
    EVENTS_PUBLISHED.inc(len(events))
    for e in events:
        count = _BY_TYPE.get(e.type)
        if count is not None:
            count(e.payload)


_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def request_done(method: str, route: str, status: int, seconds: float) -> None:
    """One answered request (``office.logs.RequestLog``). The labelled children are kept here: the
    client's ``labels()`` takes a lock and builds its key on every call, most of this cost."""
    key = (method, route, status)
    children = _request_children.get(key)
    if children is None:
        children = _request_children[key] = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(route))
    children[0].inc()
    children[1].observe(seconds)


def group_commit(name: str, size: int, seconds: float) -> None:
    GC_BATCH.labels(name).observe(size)
    GC_SECONDS.labels(name).observe(seconds)


def write_refused(name: str) -> None:
    """One item refused by a full group-commit queue (``office.groupcommit``)."""
    WRITE_REFUSED.labels(name).inc()


def lag_refused(name: str) -> None:
    """One item refused while the event loop ran late (also counted by ``write_refused``)."""
    LAG_REFUSED.labels(name).inc()


# The running group-commit writers, for their queue depths at scrape time (each names its database).
_writers: weakref.WeakSet[Any] = weakref.WeakSet()


def writer_started(writer: Any) -> None:
    _writers.add(writer)


class AppState(Collector):
    """The gauges of one running app, read when scraped."""

    def __init__(self, app: Any) -> None:
        self.state = app.state

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        hub, db = self.state.hub, self.state.db
        conns = [c for group in list(hub.by_user.values()) for c in list(group)]
        yield GaugeMetricFamily("office_ws_open", "open websockets in this process", value=len(conns))
        depth = [c.queue.qsize() for c in conns]
        yield GaugeMetricFamily("office_hub_queue_depth_max", "deepest socket queue now", value=max(depth, default=0))
        yield GaugeMetricFamily("office_hub_queue_depth_total", "frames queued to sockets now", value=sum(depth))
        yield CounterMetricFamily(
            "office_events_delivered", "event frames offered to this process's sockets", hub.delivered
        )
        queued = GaugeMetricFamily(
            "office_write_queue_depth", "work accepted by a group-commit writer and not yet answered", labels=["name"]
        )
        for writer in list(_writers):
            if writer.db is db:
                queued.add_metric([writer.name], writer.depth)
        yield queued
        probe = getattr(self.state, "looplag", None)
        if probe is not None:
            yield GaugeMetricFamily(
                "office_event_loop_lag_seconds", "how late this process's event loop runs, smoothed", value=probe.lag
            )
            yield GaugeMetricFamily(
                "office_event_loop_lag_peak_seconds", "the highest smoothed loop lag since start", value=probe.peak
            )
        pool = db.engine.pool
        yield GaugeMetricFamily("office_db_pool_checked_out", "database connections in use", value=pool.checkedout())
        yield GaugeMetricFamily("office_db_pool_size", "database pool's steady size", value=pool.size())
        if db.checkpointer is not None:
            yield CounterMetricFamily("office_sqlite_checkpoints", "WAL checkpoints run", db.checkpointer.runs)
            wal = db.checkpointer.path + "-wal"
            size = os.path.getsize(wal) if os.path.exists(wal) else 0
            yield GaugeMetricFamily("office_sqlite_wal_bytes", "the WAL file's size", value=size)


def allowed(request: Request) -> bool:
    settings = request.app.state.settings
    token = settings.metrics_token
    auth = request.headers.get("authorization", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), token.encode()):
        return True
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.is_loopback:
        return True
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.metrics_allow)


async def endpoint(request: Request) -> Response:
    if not allowed(request):
        return JSONResponse({"error": "forbidden", "message": "无权读取运行指标"}, status_code=403)
    if values.ValueClass is not values.MutexValue:  # prometheus-client chose multiprocess mode at import
        from prometheus_client import multiprocess

        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)
        body = generate_latest(shared)
    else:
        body = generate_latest(REGISTRY)
    local = CollectorRegistry()
    local.register(AppState(request.app))
    return Response(body + generate_latest(local), media_type=CONTENT_TYPE_LATEST)


endpoint.__policy__ = "public"  # type: ignore[attr-defined]  # the address/token rule above is its check
