from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from esign import seal_image
from office.errors import PayloadTooLarge, UnsupportedMedia, ValidationError


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def test_round_seal_is_transparent_red_png() -> None:
    data = seal_image.round_seal_png("某市人民政府办公室", "公章")
    assert seal_image.validate_seal_png(data) == (seal_image.DEFAULT_SIZE_PX,) * 2
    img = Image.open(io.BytesIO(data))
    assert img.mode == "RGBA" and img.size == (496, 496)
    assert img.getpixel((5, 5))[3] == 0  # transparent corner
    c = 248
    r, g, b, a = img.getpixel((c, c))  # centre of the star
    assert a == 255 and r > 200 and g < 40 and b < 60
    ring = img.getpixel((c, 18))
    assert ring[3] > 200 and ring[0] > 200
    top_arc = img.crop((150, 40, 350, 110))  # agency name drawn on the upper arc
    assert top_arc.getchannel("A").getextrema()[1] == 255


def test_long_names_and_custom_size() -> None:
    data = seal_image.round_seal_png("某某省某某市某某区人民政府发展和改革局", "合同专用章", size_px=300)
    assert seal_image.validate_seal_png(data) == (300, 300)
    for bad in (("", "公章"), ("某" * 41, ""), ("单位", "太长的印章类型文字超过十二个字了")):
        with pytest.raises(ValidationError):
            seal_image.round_seal_png(*bad)
    with pytest.raises(ValidationError):
        seal_image.round_seal_png("单位", size_px=10)


def test_square_name_seal() -> None:
    data = seal_image.square_name_seal_png("张三")
    assert seal_image.validate_seal_png(data) == (236, 236)
    with pytest.raises(ValidationError):
        seal_image.square_name_seal_png("张")


def test_missing_font_is_a_clear_error() -> None:
    with pytest.raises(seal_image.FontNotFound) as info:
        seal_image.round_seal_png("单位", font_path="/nonexistent/*.ttf")
    assert info.value.code == "cjk_font_missing" and "字体" in info.value.message


def test_validate_rejects_non_png_and_oversize() -> None:
    out = io.BytesIO()
    Image.new("RGB", (50, 50)).save(out, format="JPEG")
    with pytest.raises(UnsupportedMedia):
        seal_image.validate_seal_png(out.getvalue())
    with pytest.raises(PayloadTooLarge):
        seal_image.validate_seal_png(_png(3000, 20))
    with pytest.raises(PayloadTooLarge):
        seal_image.validate_seal_png(_png(8, 8))
    with pytest.raises(PayloadTooLarge):
        seal_image.validate_seal_png(b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024))
    with pytest.raises(UnsupportedMedia):
        seal_image.validate_seal_png(_png(64, 64)[:60])


def test_decompression_bomb_header_rejected_before_decoding() -> None:
    """A tiny PNG claiming 100000x100000 pixels is refused from its header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 6, 0, 0, 0))
    bomb += chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")
    with pytest.raises(PayloadTooLarge):
        seal_image.validate_seal_png(bomb)
    with pytest.raises(PayloadTooLarge) as info:
        seal_image.validate_seal_png(bomb, max_side=200000)  # Pillow's own bomb guard as the second line
    assert info.value.code == "image_bomb"
