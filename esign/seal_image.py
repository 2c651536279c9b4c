"""Seal pictures: draw a Chinese official round red seal (or a square name seal) and validate uploads.

Round seal layout (common practice for 公章; proportions are ours, not from a standard): red ring
of ~1/28 the diameter, agency name along the upper arc (about 210°, characters rotated to face
the centre), a five-pointed star in the middle, and the seal type (e.g. ``公章``, ``合同专用章``)
on a straight line below the star. Output is an RGBA PNG with a transparent background, drawn at
4x and downsampled for smooth edges.
"""

from __future__ import annotations

import glob
import io
import math
import warnings
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from office.errors import PayloadTooLarge, UnsupportedMedia, ValidationError

SEAL_RED = (230, 0, 18, 255)  # #E60012
DEFAULT_DIAMETER_MM = 42
DEFAULT_DPI = 300
DEFAULT_SIZE_PX = round(DEFAULT_DIAMETER_MM / 25.4 * DEFAULT_DPI)  # 496 px
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_SIDE = 2048
_SS = 4  # supersampling factor

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/**/*CJK*.tt[cf]",
    "/usr/share/fonts/**/*[Ss]ong*.tt[cf]",
    "/usr/share/fonts/**/wqy*.tt[cf]",
)


class FontNotFound(ValidationError):
    code = "cjk_font_missing"
    default_message = "服务器未安装中文字体（如 fonts-noto-cjk），无法生成印章图片"


@lru_cache(maxsize=4)
def find_cjk_font(explicit: str | None = None) -> str:
    """Path of a font that can draw Chinese; raises FontNotFound with an install hint."""
    patterns = (explicit,) if explicit else FONT_CANDIDATES
    for pattern in patterns:
        for path in sorted(glob.glob(pattern, recursive=True)):
            try:
                font = ImageFont.truetype(path, 20, index=_sc_index(path))
            except OSError:
                continue
            if font.getbbox("印")[2] > 0:
                return path
    raise FontNotFound()


def _sc_index(path: str) -> int:
    # Noto CJK collections: face 2 is the Simplified Chinese (SC) variant.
    return 2 if path.endswith(".ttc") and "Noto" in path else 0


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=_sc_index(path))


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    inner = r * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else inner
        angle = math.radians(-90 + i * 36)
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=SEAL_RED)


def _glyph(ch: str, font: ImageFont.FreeTypeFont, width_scale: float = 1.0) -> Image.Image:
    left, top, right, bottom = font.getbbox(ch)
    box = int(font.size * 1.3)
    img = Image.new("RGBA", (box, box), (0, 0, 0, 0))
    ImageDraw.Draw(img).text(
        ((box - (right - left)) / 2 - left, (box - (bottom - top)) / 2 - top), ch, font=font, fill=SEAL_RED
    )
    if width_scale != 1.0:
        img = img.resize((max(1, int(box * width_scale)), box), Image.Resampling.LANCZOS)
    return img


# A picture is a pure function of its arguments, and drawing one at 4x costs about a second of CPU
# (most of it the downsampling and the optimised PNG encoding): an agency's seals of one kind share
# it. Bytes are immutable, so handing out the cached value is safe; errors are not cached.
@lru_cache(maxsize=32)
def round_seal_png(
    agency: str, seal_type: str = "", *, size_px: int = DEFAULT_SIZE_PX, font_path: str | None = None
) -> bytes:
    """Round red official seal as a transparent PNG; ``size_px`` is the diameter (default 42 mm at 300 dpi)."""
    agency, seal_type = agency.strip(), seal_type.strip()
    if not 1 <= len(agency) <= 40 or len(seal_type) > 12:
        raise ValidationError("印章文字长度不合适（单位名称 1-40 字，印章类型至多 12 字）", code="bad_seal_text")
    if not 64 <= size_px <= 2000:
        raise ValidationError("印章尺寸超出范围", code="bad_seal_size")
    font_file = find_cjk_font(font_path)
    s = size_px * _SS
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = s / 2
    ring = s / 28
    draw.ellipse((ring / 2, ring / 2, s - ring / 2, s - ring / 2), outline=SEAL_RED, width=int(ring))

    # Agency name on the upper arc: up to ~250 degrees; glyphs shrink so long names still fit.
    n = len(agency)
    max_span = min(240.0, 60.0 + 20.0 * n)
    glyph_px = int(s * 0.13)
    for _ in range(3):  # text radius depends on glyph size; converge in a few steps
        text_r = s / 2 - ring * 1.7 - glyph_px / 2
        glyph_px = int(min(s * 0.13, text_r * math.radians(max_span) / (n * 0.98)))
    text_r = s / 2 - ring * 1.7 - glyph_px / 2
    font = _font(font_file, glyph_px)
    span = min(max_span * (n - 1) / n, (n - 1) * math.degrees(glyph_px * 1.1 / text_r)) if n > 1 else 0.0
    for i, ch in enumerate(agency):
        angle = -span / 2 + (span * i / (n - 1) if n > 1 else 0)  # degrees from 12 o'clock, clockwise
        glyph = _glyph(ch, font, width_scale=0.85).rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
        theta = math.radians(angle - 90)
        x, y = c + text_r * math.cos(theta), c + text_r * math.sin(theta)
        img.alpha_composite(glyph, (int(x - glyph.width / 2), int(y - glyph.height / 2)))

    _star(draw, c, c, s * 0.17)
    if seal_type:
        type_px = int(min(s * 0.1, s * 0.56 / len(seal_type)))
        type_font = _font(font_file, type_px)
        draw.text((c, c + s * 0.29), seal_type, font=type_font, fill=SEAL_RED, anchor="mm")
    return _encode(img.resize((size_px, size_px), Image.Resampling.LANCZOS))


@lru_cache(maxsize=32)  # as round_seal_png
def square_name_seal_png(name: str, *, size_px: int = 236, font_path: str | None = None) -> bytes:
    """Square personal name seal (2x2 characters, read right column first; 2-char names get 之印)."""
    name = name.strip()
    if not 2 <= len(name) <= 4:
        raise ValidationError("姓名章仅支持 2-4 个字", code="bad_seal_text")
    if not 64 <= size_px <= 2000:
        raise ValidationError("印章尺寸超出范围", code="bad_seal_size")
    chars = name + ("之印" if len(name) == 2 else "印" if len(name) == 3 else "")
    font_file = find_cjk_font(font_path)
    s = size_px * _SS
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    border = s / 14
    draw.rectangle((border / 2, border / 2, s - border / 2, s - border / 2), outline=SEAL_RED, width=int(border))
    cell = (s - 3 * border) / 2
    font = _font(font_file, int(cell * 0.95))
    # traditional order: right column top-to-bottom, then left column
    cells = [(1, 0), (1, 1), (0, 0), (0, 1)]
    for ch, (col, row) in zip(chars, cells, strict=False):
        x = 1.5 * border + col * cell + cell / 2
        y = 1.5 * border + row * cell + cell / 2
        draw.text((x, y), ch, font=font, fill=SEAL_RED, anchor="mm")
    return _encode(img.resize((size_px, size_px), Image.Resampling.LANCZOS))


def _encode(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def validate_seal_png(
    data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_side: int = MAX_UPLOAD_SIDE
) -> tuple[int, int]:
    """Check an uploaded seal picture: PNG only, bounded bytes and dimensions, fully decodable.

    Returns ``(width, height)``. Pillow's decompression-bomb guard is made an error here
    (``Image.MAX_IMAGE_PIXELS`` warnings become UnsupportedMedia/PayloadTooLarge) and the
    dimensions are checked from the header *before* the pixels are decoded.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge("印章图片过大", code="image_too_large")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise UnsupportedMedia("印章图片必须是 PNG 格式", code="not_png")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as img:
                width, height = img.size
                if width > max_side or height > max_side or width < 16 or height < 16:
                    raise PayloadTooLarge("印章图片尺寸超出范围", code="image_dimensions")
                img.load()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise PayloadTooLarge("印章图片像素过多（疑似解压炸弹）", code="image_bomb") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise UnsupportedMedia("印章图片已损坏", code="bad_image") from exc
    return width, height
