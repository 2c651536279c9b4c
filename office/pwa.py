"""The service worker at ``/sw.js``: ``static/sw.js`` with this release's shell written in.

A service worker controls only the pages at or below its own address, so it is served from the root,
not from ``/static/``. The browser installs a new worker whenever the script's bytes change. The
script carries a hash of every file of the web client (``RELEASE``) and the files' addresses
(``SHELL``), so a release that changes any of them changes the script: the new worker caches the
new shell under a new name and deletes the old cache. Computed once per process, since a release's
files are not edited in place.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

# Served at "/" (index.html) or here (sw.js itself), not at /static/<name>: hashed, not listed.
NOT_LISTED = ("index.html", "sw.js")
# What starting needs (the frame and the login page), fetched when the worker installs; the other
# shell files are kept the first time a page asks for them, so installing stays light.
CORE = (
    "css/app.css",
    "js/app.js",
    "js/api.js",
    "js/ui.js",
    "js/ws.js",
    "js/notify.js",
    "js/pages/login.js",
    "manifest.webmanifest",
    "icons/icon-192.png",
)


@functools.cache
def shell(static_dir: Path) -> tuple[str, tuple[str, ...]]:
    """The release hash and the addresses of the shell files under ``static_dir``."""
    digest = hashlib.sha256()
    urls = []
    for path in sorted(p for p in static_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(static_dir).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
        if rel not in NOT_LISTED:
            urls.append(f"/static/{rel}")
    return digest.hexdigest()[:16], tuple(urls)


@functools.cache
def script(static_dir: Path) -> str:
    release, urls = shell(static_dir)
    source = (static_dir / "sw.js").read_text(encoding="utf-8")
    core = [f"/static/{name}" for name in CORE if (static_dir / name).is_file()]
    return (
        source.replace('/*RELEASE*/"dev"', json.dumps(release))
        .replace("/*SHELL*/[]", json.dumps(list(urls)))
        .replace("/*CORE*/[]", json.dumps(core))
    )


def endpoint(static_dir: Path) -> Callable[[Request], Awaitable[Response]]:
    """The ``/sw.js`` endpoint; ``no-cache`` so the browser asks again on every update check."""

    async def service_worker(_request: Request) -> Response:
        return Response(script(static_dir), media_type="text/javascript", headers={"cache-control": "no-cache"})

    service_worker.__policy__ = "public"  # type: ignore[attr-defined]
    return service_worker
