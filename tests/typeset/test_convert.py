"""Word -> PDF through the LibreOffice pool: warm converters, fonts, and every way a converter can fail.

Real LibreOffice processes (no fakes): a hung converter is a SIGSTOPped one, a crashed one is a
SIGKILLed ``soffice.bin``. Skipped locally without LibreOffice; under CI=true a missing one fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from typeset import convert
from typeset.convert import ConversionFailed, ConverterBusy, ConverterPool, ConverterUnavailable
from typeset.render import render_docx
from typeset.samples import demo_notice


def need_soffice() -> None:
    if shutil.which("soffice"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("soffice missing under CI=true: install libreoffice-writer-nogui")
    pytest.skip("LibreOffice not installed")


@pytest.fixture(scope="module")
def notice() -> bytes:
    return render_docx(demo_notice(pages=3))


@pytest.fixture
def pool() -> Iterator[ConverterPool]:
    need_soffice()
    p = ConverterPool(workers=1, timeout=6, wait=45)
    p.start(block=True)
    yield p
    p.close()


def _group(p: ConverterPool) -> int:
    proc = p._slots[0].proc
    assert proc is not None
    return proc.pid


def _live_members(pgid: int) -> list[str]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # a zombie is dead, only not yet reaped by init
            found.append(stat.parent.name)
    return found


def _alive(pgid: int) -> bool:
    """Is any process of the group still alive 3 s after it was killed (SIGKILL lands asynchronously)?"""
    deadline = time.monotonic() + 3
    while _live_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(_live_members(pgid))


def test_warm_converter_makes_a_pdf_with_the_project_fonts(pool: ConverterPool, notice: bytes) -> None:
    assert pool.status() == {
        "available": True,
        "mode": "uno",
        "workers": 1,
        "warm": 1,
        "message": "版式文件（PDF）可用",
    }
    pdf = pool.convert(notice)
    started = time.perf_counter()
    again = pool.convert(notice)
    assert time.perf_counter() - started < 3  # warm: no LibreOffice start-up per request
    assert pdf.startswith(b"%PDF-") and again.startswith(b"%PDF-")
    path = pool._slots[0].directory / "check.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    # typeset/fonts/fonts.conf: 仿宋_GB2312 / 方正小标宋简体 -> Noto Serif CJK (Regular, Bold), 黑体 -> Noto Sans CJK.
    assert "NotoSerifCJK" in fonts and "Bold" in fonts and "NotoSansCJK" in fonts
    assert "DejaVu" not in fonts, fonts  # without the fontconfig file LibreOffice falls back to DejaVu for 仿宋


def test_hung_converter_is_replaced_and_the_request_answered(pool: ConverterPool, notice: bytes) -> None:
    old = _group(pool)
    os.killpg(old, signal.SIGSTOP)  # LibreOffice stops answering
    started = time.perf_counter()
    with pytest.raises(ConversionFailed) as err:
        pool.convert(notice)
    assert time.perf_counter() - started < pool.timeout + 3
    assert err.value.status_code == 503 and err.value.code == "conversion_failed" and "重启" in err.value.message
    assert not _alive(old)  # the whole process group went, soffice.bin included
    assert pool.convert(notice).startswith(b"%PDF-")  # a fresh converter took its place
    assert pool.restarts == 1 and _group(pool) != old


def test_crashed_converter_is_replaced(pool: ConverterPool, notice: bytes) -> None:
    old = _group(pool)
    office = subprocess.run(
        ["pgrep", "-g", str(old), "-f", "soffice.bin"], capture_output=True, text=True, check=False
    ).stdout.split()
    assert office, "soffice.bin runs in the worker's process group"
    os.kill(int(office[0]), signal.SIGKILL)
    with pytest.raises(ConversionFailed):
        pool.convert(notice)
    assert pool.convert(notice).startswith(b"%PDF-")
    assert pool.restarts == 1 and not _alive(old)


def test_busy_pool_refuses_after_the_wait_instead_of_queueing_forever(notice: bytes) -> None:
    need_soffice()
    p = ConverterPool(workers=1, timeout=8, wait=0.5)
    p.start(block=True)
    try:
        os.killpg(_group(p), signal.SIGSTOP)
        holder = threading.Thread(target=lambda: pytest.raises(ConversionFailed, p.convert, notice))
        holder.start()
        time.sleep(0.3)
        started = time.perf_counter()
        with pytest.raises(ConverterBusy) as err:
            p.convert(notice)
        assert time.perf_counter() - started < 2 and err.value.status_code == 503
        holder.join(20)
    finally:
        p.close()


def test_without_libreoffice_the_server_says_so(notice: bytes) -> None:
    p = ConverterPool(soffice="/nonexistent/soffice")
    assert not p.available() and p.mode is None
    assert p.status()["available"] is False and "未安装 LibreOffice" in p.status()["message"]
    with pytest.raises(ConverterUnavailable) as err:
        p.convert(notice)
    assert err.value.status_code == 503 and err.value.code == "official_copy_unavailable"
    assert not ConverterPool(workers=0).available()


def test_cold_fallback_without_python_uno(notice: bytes) -> None:
    need_soffice()
    p = ConverterPool(workers=1, timeout=60, python="/nonexistent/python3")
    try:
        assert p.mode == "cli" and "python3-uno" in p.status()["message"]
        assert p.convert(notice).startswith(b"%PDF-")
    finally:
        p.close()


def test_process_pool_follows_the_settings(settings) -> None:  # type: ignore[no-untyped-def]
    first = convert.configure(settings)
    assert convert.configure(settings) is first  # an app made again keeps the warm converters
    pool = convert.configure(settings.with_overrides(official_copy_workers=0))
    assert first._closed and pool is not first
    try:
        assert not convert.available() and convert.status()["available"] is False
        with pytest.raises(ConverterUnavailable):
            convert.docx_to_pdf(b"PK")
    finally:
        pool.close()
        convert.configure(settings)
