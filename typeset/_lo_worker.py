"""One warm LibreOffice converter, run by ``typeset.convert`` as a child process (not imported by the server).

It runs on the Python that has LibreOffice's ``uno`` module (Debian's ``/usr/bin/python3`` with
``python3-uno``), which is usually not the server's interpreter, so it imports nothing of the
project. It starts ``soffice --headless`` with its own profile, listening on a private UNO pipe,
and then answers requests on stdin/stdout, one JSON object per line::

    -> {"in": "/private/dir/a.docx", "out": "/private/dir/a.pdf"}
    <- {"ok": true}   or   {"ok": false, "error": "..."}

The first line it writes is ``{"ready": true}`` once LibreOffice accepts connections. It exits
when stdin closes (the server went away) and on any UNO bridge failure (LibreOffice crashed); the
pool then starts a fresh one. No socket is opened: nobody but the parent can send it work.

Usage: python3 _lo_worker.py SOFFICE PROFILE_DIR PIPE_NAME
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue

START_TIMEOUT = 60.0


def _props(**values: object) -> tuple[object, ...]:
    out = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name, prop.Value = name, value
        out.append(prop)
    return tuple(out)


def _connect(pipe: str, office: subprocess.Popen[bytes]) -> object:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception:  # NoConnectException until soffice listens
            if office.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _convert(desktop: object, src: str, dst: str) -> None:
    # Hidden, read-only, no macros (MacroExecutionMode NEVER_EXECUTE = 0), no link updates (NO_UPDATE = 0).
    load = _props(Hidden=True, ReadOnly=True, MacroExecutionMode=0, UpdateDocMode=0)
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, load)  # type: ignore[attr-defined]
    if doc is None:
        raise RuntimeError("LibreOffice could not open the file")
    try:
        doc.storeToURL(uno.systemPathToFileUrl(dst), _props(FilterName="writer_pdf_Export"))
    finally:
        doc.close(True)


def _alive(desktop: object, office: subprocess.Popen[bytes]) -> bool:
    """After a failed request: is LibreOffice still there? (Its exit is not visible at once, the bridge is.)"""
    if office.poll() is not None:
        return False
    try:
        desktop.getComponents()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - DisposedException / RuntimeException: the bridge to it is gone
        return False
    return True


def _warm(desktop: object, profile: str) -> None:
    """Load Writer and the PDF export once (a new empty document), so the first request is warm too."""
    doc = desktop.loadComponentFromURL("private:factory/swriter", "_blank", 0, _props(Hidden=True))  # type: ignore[attr-defined]
    try:
        doc.getText().setString("仿宋 黑体 楷体 2026年11月29日")
        doc.storeToURL(
            uno.systemPathToFileUrl(os.path.join(profile, "warm.pdf")), _props(FilterName="writer_pdf_Export")
        )
    finally:
        doc.close(True)


def main(soffice: str, profile: str, pipe: str) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the clean-up below
    office = subprocess.Popen(
        [
            soffice,
            f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            "--nofirststartwizard",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    desktop = None
    try:
        desktop = _connect(pipe, office)
        _warm(desktop, profile)
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            try:
                _convert(desktop, request["in"], request["out"])
                answer: dict[str, object] = {"ok": True}
            except Exception as exc:  # noqa: BLE001 - a bad file is an answer; a dead office ends the loop below
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
            if not answer["ok"] and not _alive(desktop, office):
                answer = {"ok": False, "error": "LibreOffice exited", "fatal": True}
            print(json.dumps(answer), flush=True)
            if answer.get("fatal"):
                return 1
        return 0
    finally:
        if office.poll() is None:
            try:
                if desktop is None:
                    raise RuntimeError("never connected")
                desktop.terminate()  # type: ignore[attr-defined]
                office.wait(timeout=10)
            except Exception:  # noqa: BLE001, S110 - no polite shutdown: the group kill below ends it
                pass
        # soffice.bin is oosplash's child, not ours: end the whole group (ourselves with it) so none outlives
        # us; only when the group is ours alone (the pool starts us with start_new_session).
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
