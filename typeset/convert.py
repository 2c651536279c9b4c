"""Word -> PDF on the server through LibreOffice: a small bounded pool of warm converter processes.

Why not one ``soffice --convert-to pdf`` per request: starting LibreOffice costs 2.5-4 s on this
class of machine, a warm one converts a 10-page 通知 in about 0.2 s. Why not ``unoserver`` (PyPI):
its server must run on the interpreter that has LibreOffice's ``uno`` module (usually not ours),
and it takes requests, including input and output *paths*, over an XML-RPC TCP port that any
local user can reach. Here each slot runs ``_lo_worker.py`` on the uno-capable Python (Debian's
``python3-uno``); it owns one ``soffice --headless`` with its own profile on a private UNO pipe
and takes work only from our stdin. Without such a Python the slots fall back to a cold
``soffice --convert-to pdf`` per call (same bounds, slower).

Bounds, so a request is answered, never left hanging:

- at most ``workers`` conversions at once; a request waits at most ``WAIT_SECONDS`` for a slot,
  then gets ConverterBusy (503);
- a conversion that takes longer than ``timeout`` seconds, or whose LibreOffice dies, kills the
  slot's whole process group and answers ConversionFailed (503); a fresh process is started in the
  background so the next request finds a warm one;
- a machine without LibreOffice still serves everything else: :func:`available` is False,
  :func:`status` says why, and a conversion raises ConverterUnavailable (503).

Fonts: the converters (and only they) get ``FONTCONFIG_FILE`` = ``typeset/fonts/fonts.conf`` (or
``OFFICE_OFFICIAL_COPY_FONTCONFIG``), which maps the GB/T 9704 font names to Noto CJK unless the
licensed fonts are installed (docs/fonts.md).

Errors::

    office.errors.OfficeError
    └── ConverterUnavailable (503 official_copy_unavailable)
        ├── ConverterBusy (503 converter_busy)
        └── ConversionFailed (503 conversion_failed)
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from office.errors import OfficeError

log = logging.getLogger("typeset.convert")

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_lo_worker.py"
FONTS_CONF = HERE / "fonts" / "fonts.conf"
WAIT_SECONDS = 30.0
START_SECONDS = 90.0
MAX_DOCX = 50 * 1024 * 1024


class ConverterUnavailable(OfficeError):
    status_code = 503
    code = "official_copy_unavailable"
    default_message = (
        "服务器未安装 LibreOffice，暂不能生成版式文件（PDF）；请联系系统管理员安装 libreoffice-writer-nogui"
    )


class ConverterBusy(ConverterUnavailable):
    code = "converter_busy"
    default_message = "版式文件转换繁忙，请稍后重试"


class ConversionFailed(ConverterUnavailable):
    code = "conversion_failed"
    default_message = "版式文件转换失败（转换进程出错或超时，已自动重启），请稍后重试"


class _Broken(Exception):
    """The slot's converter hung, died or would not start: replace it, answer ConversionFailed."""


def _uno_python(candidates: list[str]) -> str | None:
    """The first interpreter that can ``import uno`` (checked once per pool)."""
    for exe in candidates:
        if not exe or not os.access(exe, os.X_OK):
            continue
        try:
            done = subprocess.run([exe, "-c", "import uno"], capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return exe
    return None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker, its soffice launcher and soffice.bin
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait on anything
        log.error("converter %s did not exit after SIGKILL", proc.pid)


@dataclass
class _Slot:
    """One converter slot: a private directory (profile + files) and, in uno mode, a warm worker."""

    index: int
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tongban-lo-")))
    proc: subprocess.Popen[bytes] | None = None
    buffer: bytes = b""
    conversions: int = 0

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc)
            self.proc = None
        self.buffer = b""

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class ConverterPool:
    """At most ``workers`` LibreOffice conversions at a time, each bounded by ``timeout`` seconds."""

    def __init__(
        self,
        *,
        workers: int = 2,
        timeout: float = 60.0,
        wait: float = WAIT_SECONDS,
        soffice: str | None = None,
        python: str | None = None,
        fontconfig: str | Path | None = None,
    ) -> None:
        self.workers, self.timeout, self.wait = workers, timeout, wait
        self.soffice = soffice if soffice is not None else (shutil.which("soffice") or shutil.which("libreoffice"))
        self.fontconfig = Path(fontconfig) if fontconfig else FONTS_CONF
        self._python_choice = python
        self._python: str | None = None
        self._mode: str | None = None
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[_Slot] = queue.LifoQueue()
        self._slots: list[_Slot] = []
        self._closed = False
        self.restarts = 0

    # --- what is there ----------------------------------------------------------------------

    def available(self) -> bool:
        """True when conversions can run (LibreOffice installed, pool not disabled)."""
        return self.workers > 0 and bool(self.soffice) and os.access(self.soffice or "", os.X_OK)

    @property
    def mode(self) -> str | None:
        """``"uno"`` (warm workers), ``"cli"`` (one soffice per conversion) or None (unavailable)."""
        if not self.available():
            return None
        with self._lock:
            if self._mode is None:
                candidates = (
                    [self._python_choice]
                    if self._python_choice is not None
                    else ["/usr/bin/python3", str(Path(os.path.realpath(self.soffice or "")).parent / "python")]
                )
                self._python = _uno_python([c for c in candidates if c])
                self._mode = "uno" if self._python else "cli"
            return self._mode

    def status(self) -> dict[str, Any]:
        """For health output and the UI: can official copies be made, and how."""
        if not self.available():
            reason = "已停用（OFFICE_OFFICIAL_COPY_WORKERS=0）" if self.workers <= 0 else "服务器未安装 LibreOffice"
            return {
                "available": False,
                "mode": None,
                "workers": self.workers,
                "warm": 0,
                "message": f"版式文件（PDF）暂不可用：{reason}",
            }
        warm = sum(1 for s in self._slots if s.proc is not None and s.proc.poll() is None)
        return {
            "available": True,
            "mode": self.mode,
            "workers": self.workers,
            "warm": warm,
            "message": "版式文件（PDF）可用" + ("" if self.mode == "uno" else "（未安装 python3-uno，转换较慢）"),
        }

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, *, block: bool = False) -> None:
        """Create the slots and warm them (in the background unless ``block``)."""
        if not self.available():
            return
        with self._lock:
            if self._slots:
                return
            self._slots = [_Slot(i) for i in range(self.workers)]
            atexit.register(self.close)  # a process that never shuts the pool down leaves no LibreOffice behind
        slots = list(self._slots)
        if self.mode != "uno":
            for slot in slots:
                self._idle.put(slot)
            return
        if block:
            for slot in slots:
                self._warm_and_release(slot)
        else:
            for slot in slots:
                threading.Thread(
                    target=self._warm_and_release, args=(slot,), daemon=True, name=f"lo-warm-{slot.index}"
                ).start()

    def close(self) -> None:
        """Stop every converter process and remove their directories."""
        self._closed = True
        for slot in list(self._slots):
            slot.remove()

    def _warm_and_release(self, slot: _Slot) -> None:
        try:
            if not self._closed and self.mode == "uno":
                self._spawn(slot)
        except ConverterUnavailable as exc:
            if not self._closed:
                log.warning("LibreOffice converter %s did not start: %s", slot.index, exc.message)
        finally:
            if self._closed:  # close() ran while this one was starting
                slot.remove()
            self._idle.put(slot)

    # --- converting ---------------------------------------------------------------------------

    def convert(self, docx: bytes) -> bytes:
        """PDF bytes of a Word file. Raises ConverterUnavailable / ConverterBusy / ConversionFailed."""
        if not self.available():
            raise ConverterUnavailable()
        if not docx or len(docx) > MAX_DOCX:
            raise ConversionFailed("Word 文件为空或过大，无法生成版式文件", code="conversion_failed")
        self.start()
        try:
            slot = self._idle.get(timeout=self.wait)
        except queue.Empty:
            raise ConverterBusy() from None
        try:
            pdf = self._convert_uno(slot, docx) if self.mode == "uno" else self._convert_cli(slot, docx)
        except _Broken:
            self.restarts += 1
            slot.stop()
            threading.Thread(
                target=self._warm_and_release, args=(slot,), daemon=True, name=f"lo-restart-{slot.index}"
            ).start()
            raise ConversionFailed() from None
        except BaseException:
            self._idle.put(slot)
            raise
        self._idle.put(slot)
        return pdf

    def _files(self, slot: _Slot, docx: bytes) -> tuple[Path, Path]:
        slot.conversions += 1
        src = slot.directory / f"in-{slot.conversions}.docx"
        src.write_bytes(docx)
        return src, src.with_suffix(".pdf")

    def _env(self, slot: _Slot) -> dict[str, str]:
        return dict(os.environ, FONTCONFIG_FILE=str(self.fontconfig), TMPDIR=str(slot.directory))

    def _spawn(self, slot: _Slot) -> None:
        slot.stop()
        profile = slot.directory / "profile"
        pipe = f"tongban_lo_{os.getpid()}_{slot.index}_{secrets.token_hex(6)}"
        assert self._python and self.soffice
        slot.proc = subprocess.Popen(
            [self._python, str(WORKER), self.soffice, str(profile), pipe],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self._env(slot),
            start_new_session=True,
        )
        line = self._readline(slot, time.monotonic() + START_SECONDS)
        if line is None or not line.get("ready"):
            slot.stop()
            raise ConverterUnavailable("LibreOffice 转换进程无法启动", code="converter_start_failed")

    def _readline(self, slot: _Slot, deadline: float) -> dict[str, Any] | None:
        """One JSON line from the worker, or None on timeout or exit (no blocking read past ``deadline``)."""
        assert slot.proc is not None and slot.proc.stdout is not None
        fd = slot.proc.stdout.fileno()
        while b"\n" not in slot.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            slot.buffer += chunk
        line, slot.buffer = slot.buffer.split(b"\n", 1)
        try:
            value = json.loads(line)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _convert_uno(self, slot: _Slot, docx: bytes) -> bytes:
        if slot.proc is None or slot.proc.poll() is not None:
            try:
                self._spawn(slot)
            except ConverterUnavailable:
                raise _Broken() from None
        assert slot.proc is not None and slot.proc.stdin is not None
        src, dst = self._files(slot, docx)
        try:
            try:
                slot.proc.stdin.write(json.dumps({"in": str(src), "out": str(dst)}).encode() + b"\n")
                slot.proc.stdin.flush()
            except OSError:
                raise _Broken() from None
            answer = self._readline(slot, time.monotonic() + self.timeout)
            if answer is None or answer.get("fatal"):
                log.warning("LibreOffice converter %s hung or died; restarting it", slot.index)
                raise _Broken()
            if not answer.get("ok") or not dst.is_file():
                log.warning("LibreOffice could not convert a file: %s", answer.get("error"))
                raise ConversionFailed("LibreOffice 无法转换该 Word 文件", code="conversion_failed")
            return dst.read_bytes()
        finally:
            src.unlink(missing_ok=True)
            dst.unlink(missing_ok=True)

    def _convert_cli(self, slot: _Slot, docx: bytes) -> bytes:
        src, dst = self._files(slot, docx)
        assert self.soffice
        try:
            proc = subprocess.Popen(
                [
                    self.soffice,
                    f"-env:UserInstallation={(slot.directory / 'profile').as_uri()}",
                    "--headless",
                    "--norestore",
                    "--nolockcheck",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(slot.directory),
                    str(src),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=self._env(slot),
                start_new_session=True,
            )
            try:
                proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                raise _Broken() from None
            if proc.returncode != 0 or not dst.is_file():
                raise ConversionFailed("LibreOffice 无法转换该 Word 文件", code="conversion_failed")
            return dst.read_bytes()
        finally:
            src.unlink(missing_ok=True)
            dst.unlink(missing_ok=True)


# --- the process-wide pool --------------------------------------------------------------------

_pool: ConverterPool | None = None
_pool_lock = threading.Lock()


def configure(settings: Any) -> ConverterPool:
    """The process-wide pool for ``office.config.Settings`` (called at start-up). An app created again
    with the same settings (tests create one per test) keeps the warm converters it already has."""
    global _pool
    wanted = (
        settings.official_copy_workers,
        float(settings.official_copy_timeout),
        Path(settings.official_copy_fontconfig) if settings.official_copy_fontconfig else FONTS_CONF,
    )
    with _pool_lock:
        if _pool is not None and not _pool._closed and (_pool.workers, _pool.timeout, _pool.fontconfig) == wanted:
            return _pool
        if _pool is not None:
            _pool.close()
        _pool = ConverterPool(workers=wanted[0], timeout=wanted[1], fontconfig=wanted[2])
        return _pool


def default_pool() -> ConverterPool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ConverterPool()
        return _pool


def available() -> bool:
    """Can this server make official copies (PDF)? For health output, the UI and the 用印 step."""
    return default_pool().available()


def status() -> dict[str, Any]:
    return default_pool().status()


def docx_to_pdf(docx: bytes) -> bytes:
    """Convert with the process-wide pool; raises ConverterUnavailable (503) and subclasses."""
    return default_pool().convert(docx)
