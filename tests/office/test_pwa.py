"""The service worker script: served from the root with the strict headers, carrying the release's
shell, and different whenever any shell file changes (that is how browsers learn of a release)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from starlette.testclient import TestClient

from office import pwa
from office.app import STATIC_DIR


def written_in(script: str, name: str = "SHELL") -> tuple[str, list[str]]:
    release = re.search(r'^const RELEASE = "([0-9a-f]+)";$', script, re.M)
    listed = re.search(rf"^const {name} = (\[.*\]);$", script, re.M)
    assert release and listed, script[:600]
    return release.group(1), json.loads(listed.group(1))


def test_the_worker_is_served_from_the_root_with_the_shell_written_in(client: TestClient) -> None:
    r = client.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"  # the browser asks again on every update check
    assert "script-src 'self'" in r.headers["content-security-policy"]  # the worker runs under the CSP
    release, shell = written_in(r.text)
    assert release == pwa.shell(STATIC_DIR)[0]
    assert {"/static/js/app.js", "/static/css/app.css", "/static/manifest.webmanifest"} <= set(shell)
    assert "/static/icons/icon-192.png" in shell
    # Installing fetches only what starting needs; the rest is kept when first asked for.
    _, core = written_in(r.text, "CORE")
    assert {"/static/js/app.js", "/static/js/pages/login.js", "/static/css/app.css"} <= set(core) < set(shell)
    # Only shell files: index.html is cached as "/", the worker itself is not cached at all.
    assert all(url.startswith("/static/") for url in shell)
    assert "/static/index.html" not in shell and "/static/sw.js" not in shell
    manifest = client.get("/static/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    for icon in manifest.json()["icons"]:
        assert client.get(icon["src"]).headers["content-type"] == "image/png"


def test_any_changed_shell_file_makes_a_new_release(tmp_path: Path) -> None:
    def release_of(change: str) -> tuple[str, list[str]]:
        static = tmp_path / change
        shutil.copytree(STATIC_DIR, static)
        if change == "page":
            with (static / "js" / "pages" / "docs.js").open("a", encoding="utf-8") as f:
                f.write("\n// the next release\n")
        elif change == "index":
            (static / "index.html").write_text((STATIC_DIR / "index.html").read_text() + "\n", encoding="utf-8")
        elif change == "icon":
            (static / "icons" / "new.png").write_bytes(b"png")
        return written_in(pwa.script(static))

    same, shell = release_of("same")
    assert (same, shell) == release_of("same-again")  # the same files: the same bytes, no reinstall
    for change in ("page", "index", "icon"):
        release, listed = release_of(change)
        assert release != same, change
        assert set(listed) - set(shell) == ({"/static/icons/new.png"} if change == "icon" else set()), change
