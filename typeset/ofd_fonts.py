"""The fonts an OFD official copy embeds (GB/T 33190 §11.1: ``<ofd:Font>`` with a ``FontFile``).

The OFD holds the glyphs it draws, so a reader without our fonts shows the same shapes. The PDF's
own fonts are no use for that: LibreOffice embeds glyph-indexed subsets without a Unicode cmap, and
OFD text is Unicode. So the font file LibreOffice used is found again on this machine, through the
converters' fontconfig file (``typeset.convert``), and a new TrueType font is built from it with
fontTools holding only the characters drawn (subset), their outlines (CFF cubics converted to
TrueType quadratics: every OFD reader takes TrueType ``glyf``, not every one takes CFF), advance
widths, a Unicode cmap, and the source's names, copyright and licence strings.

Finding the file: the PDF names a font by its PostScript name (``NotoSerifCJKsc-Bold``), or for
the CFF faces of a collection by the CFF font name they share (``NotoSerifCJKjp-Regular``, sometimes
with a suffix), which is the same in the SC, TC, JP and KR faces; their cmaps differ (regional
glyph forms), so the face is the one fontconfig gives for the GB/T 9704 font names, as it did for
LibreOffice. A font whose OS/2 ``fsType`` forbids embedding or subsetting is not embedded (named
only, as before); so is a font that cannot be found. Loading a large CJK face costs about 2 s of
CPU, so faces stay open per process (a few MB each) and converted outlines are remembered.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.recordingPen import DecomposingRecordingPen, RecordingPen, replayRecording
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, TTLibError

from typeset import convert, gbt9704

log = logging.getLogger("typeset.ofd_fonts")

_PS_NAME = re.compile(r"^[A-Za-z0-9._+-]{1,120}$")
#: OS/2 fsType bits: restricted-licence embedding, and no subsetting (OpenType spec).
FS_RESTRICTED, FS_NO_SUBSETTING = 0x0002, 0x0100
#: Latin faces the Word files may fall back to besides the GB/T 9704 CJK names.
_LATIN = ("Times New Roman", "Liberation Serif", "DejaVu Sans", "DejaVu Serif")
_NAME_IDS = (0, 1, 2, 3, 4, 5, 6, 7, 13, 14)  # copyright, names, version, trademark, licence
MAX_OUTLINES = 8000  # converted glyphs remembered per face (about 5 ms each to convert, ~1 KB to keep)
_LOCK = threading.Lock()  # fontTools' lazy tables are not thread-safe; faces are shared


@dataclass(frozen=True)
class Embedded:
    """A font file for the OFD package."""

    data: bytes
    bold: bool


@dataclass
class _Face:
    font: Any  # fontTools TTFont, open for the life of the process
    cmap: dict[int, str]
    glyphs: Any
    outlines: dict[str, tuple[list[Any], int]] = field(default_factory=dict)  # name -> (quadratic ops, advance)


def _fc(args: list[str], fontconfig: Path) -> list[str]:
    try:
        out = subprocess.run(
            args, env=dict(os.environ, FONTCONFIG_FILE=str(fontconfig)), capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return out.stdout.decode("utf-8", "replace").splitlines()


@lru_cache(maxsize=4)
def _installed(fontconfig: Path) -> tuple[list[tuple[str, int, str]], list[tuple[str, int]]]:
    """(file, index, PostScript name) of every font fontconfig knows, and the faces it picks for the
    names our Word files ask for (regular and bold), in that order."""
    fmt = "%{file}|%{index}|%{postscriptname}\n"
    entries = []
    for line in _fc(["fc-list", "-f", fmt], fontconfig):
        path, _, rest = line.partition("|")
        index, _, ps_name = rest.partition("|")
        if path and index.isdigit():
            entries.append((path, int(index), ps_name))
    preferred: list[tuple[str, int]] = []
    names = [n for family in gbt9704.FONT_FAMILIES.values() for n in sorted(family)] + list(_LATIN)
    for name in names:
        for style in ("", ":bold"):
            for line in _fc(["fc-match", "-f", fmt, name + style], fontconfig):
                path, _, rest = line.partition("|")
                index = rest.partition("|")[0]
                if path and index.isdigit() and (path, int(index)) not in preferred:
                    preferred.append((path, int(index)))
    return entries, preferred


def _cff_name(path: str, index: int) -> str:
    """The first name in a face's CFF Name INDEX (read from the table's first bytes only)."""
    try:
        font = TTFont(path, fontNumber=index, lazy=True)
    except (OSError, TTLibError):
        return ""
    try:
        entry = font.reader.tables.get("CFF ")
        if entry is None:
            return ""
        with open(path, "rb") as fh:
            fh.seek(entry.offset)
            head = fh.read(512)
        start = head[2]
        count, off_size = struct.unpack(">HB", head[start : start + 3])
        if not count or not 1 <= off_size <= 4:
            return ""
        offsets = [
            int.from_bytes(head[start + 3 + i * off_size : start + 3 + (i + 1) * off_size], "big") for i in range(2)
        ]
        base = start + 3 + (count + 1) * off_size - 1
        return head[base + offsets[0] : base + offsets[1]].decode("latin-1")
    except (struct.error, IndexError, ValueError):
        return ""
    finally:
        font.close()


def locate(pdf_name: str, fontconfig: Path | None = None) -> tuple[str, int] | None:
    """The font file and face index behind a font name from the PDF, or None."""
    if not _PS_NAME.match(pdf_name):
        return None
    return _locate(pdf_name, fontconfig or convert.default_pool().fontconfig)


@lru_cache(maxsize=256)
def _locate(pdf_name: str, fontconfig: Path) -> tuple[str, int] | None:
    entries, preferred = _installed(fontconfig)
    exact = [(p, i) for p, i, ps in entries if ps == pdf_name]
    if exact:
        return next((face for face in preferred if face in exact), exact[0])
    for path, index in preferred:  # a CFF face of a collection: the face fontconfig picked
        cff = _cff_name(path, index)
        if cff and (pdf_name == cff or pdf_name.startswith(cff + "-")):
            return path, index
    return None


_faces: dict[tuple[str, int], _Face | None] = {}


def _face(path: str, index: int) -> _Face | None:
    key = (path, index)
    if key not in _faces:
        try:
            font = TTFont(path, fontNumber=index, lazy=True)
            fs_type = font["OS/2"].fsType if "OS/2" in font else 0
            if fs_type & (FS_RESTRICTED | FS_NO_SUBSETTING):
                log.info("font %s (face %d) may not be embedded or subset (fsType %#x)", path, index, fs_type)
                _faces[key] = None
            else:
                _faces[key] = _Face(font, dict(font.getBestCmap() or {}), font.getGlyphSet())
        except (OSError, TTLibError, KeyError, AssertionError) as exc:
            log.warning("cannot read font %s (face %d): %s", path, index, exc)
            _faces[key] = None
    return _faces[key]


def _outline(face: _Face, name: str) -> tuple[list[Any], int]:
    """The glyph's outline as quadratic pen operations (components drawn in) and its advance width."""
    if name not in face.outlines:
        if len(face.outlines) >= MAX_OUTLINES:
            face.outlines.clear()
        glyph = face.glyphs[name]
        drawn = DecomposingRecordingPen(face.glyphs)
        glyph.draw(drawn)
        quadratic = RecordingPen()
        cubic = "CFF " in face.font or "CFF2" in face.font
        # CFF contours run counter-clockwise, TrueType's clockwise.
        drawn.replay(Cu2QuPen(quadratic, max_err=1.0, reverse_direction=cubic))
        face.outlines[name] = (quadratic.value, int(glyph.width))
    return face.outlines[name]


def _names(font: Any) -> dict[str, str]:
    keys = {
        0: "copyright",
        1: "familyName",
        2: "styleName",
        3: "uniqueFontIdentifier",
        4: "fullName",
        5: "version",
        6: "psName",
        7: "trademark",
        13: "licenseDescription",
        14: "licenseInfoURL",
    }
    table = font["name"]
    out = {}
    for name_id in _NAME_IDS:
        record = table.getName(name_id, 3, 1, 0x409) or table.getName(name_id, 1, 0, 0)
        if record is not None:
            out[keys[name_id]] = record.toUnicode()
    out.setdefault("familyName", "Embedded")
    out.setdefault("styleName", "Regular")
    return out


def subset(path: str, index: int, text: set[str]) -> Embedded | None:
    """A TrueType font holding the glyphs of ``text`` from the face, or None (not embeddable)."""
    with _LOCK:
        face = _face(path, index)
        if face is None:
            return None
        source = face.font
        mapped = sorted((ord(ch), face.cmap[ord(ch)]) for ch in text if ord(ch) in face.cmap)
        order = [".notdef", *dict.fromkeys(name for _, name in mapped)]
        glyphs, metrics = {}, {}
        for name in order:
            ops, advance = _outline(face, name) if name in face.glyphs else ([], 0)
            pen = TTGlyphPen(None)
            replayRecording(ops, pen)
            glyphs[name] = pen.glyph()
            metrics[name] = advance
        builder = FontBuilder(source["head"].unitsPerEm, isTTF=True)
        builder.setupGlyphOrder(order)
        builder.setupCharacterMap(dict(mapped))
        builder.setupGlyf(glyphs)
        glyf = builder.font["glyf"]
        builder.setupHorizontalMetrics({n: (metrics[n], getattr(glyf[n], "xMin", 0)) for n in order})
        hhea = source["hhea"]
        builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
        builder.setupNameTable(_names(source))
        os2 = source["OS/2"]
        fields = ("usWeightClass", "usWidthClass", "fsType", "sTypoAscender", "sTypoDescender", "sTypoLineGap")
        builder.setupOS2(
            **{f: getattr(os2, f) for f in fields},
            usWinAscent=os2.usWinAscent,
            usWinDescent=os2.usWinDescent,
            achVendID=os2.achVendID,
            fsSelection=os2.fsSelection,
        )
        builder.setupPost(keepGlyphNames=False)
        head = source["head"]
        # The source's dates, not now: the same pages give the same bytes (and the same seal digests).
        builder.updateHead(macStyle=head.macStyle, created=head.created, modified=head.modified)
        builder.font.recalcTimestamp = False
        bold = os2.usWeightClass >= 600
    out = io.BytesIO()
    builder.save(out)
    return Embedded(out.getvalue(), bold)


def warm(fontconfig: Path | None = None) -> None:
    """Open the faces the Word files' font names resolve to (about 2 s each for a CJK face), so the
    first 用印 after a start does not pay for it inside its write transaction."""
    _, preferred = _installed(fontconfig or convert.default_pool().fontconfig)
    for path, index in preferred:
        with _LOCK:
            face = _face(path, index)
            if face is not None and ".notdef" in face.glyphs:
                _outline(face, ".notdef")  # loads the outline table (CFF or glyf)
