"""`imageio.read_image`: image files for `digitkiosk predict`, and every way they go wrong."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from digitkiosk.device.errors import InputError
from digitkiosk.device.imageio import MAX_PIXELS, read_image
from PIL import Image


def test_png_jpeg_and_colour_become_gray(tmp_path):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (40, 60), dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "a.png")
    assert np.array_equal(read_image(tmp_path / "a.png"), gray)
    rgb = np.zeros((30, 50, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "b.jpg", quality=95)
    out = read_image(tmp_path / "b.jpg")
    assert out.shape == (30, 50) and out.dtype == np.uint8


def test_transparent_background_goes_on_white_paper(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)  # transparent black everywhere...
    rgba[5:15, 9:11] = (0, 0, 0, 255)  # ...and an opaque black stroke
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    out = read_image(tmp_path / "t.png")
    assert out[0, 0] == 255 and out[10, 10] == 0


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("size", [(20000, 20000), (6000, 5000)])
def test_huge_png_refused_from_its_header(tmp_path, size):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(*size))  # claims the size; decoding it would need GBs
    with pytest.raises(InputError, match="too large"):
        read_image(path)


def test_huge_jpeg_decoded_reduced(tmp_path):
    w, h = 8000, 4000  # 32 megapixels, over the limit
    assert w * h > MAX_PIXELS
    Image.new("L", (w, h), 200).save(tmp_path / "big.jpg", quality=50)
    out = read_image(tmp_path / "big.jpg")
    assert out.shape[0] * out.shape[1] <= MAX_PIXELS and out.shape[1] <= 4096


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.png", b"", "empty file"),
        ("notes.png", b"this is text, not a picture\n", "not an image"),
        ("trunc.png", None, "cannot decode"),
    ],
)
def test_bad_files_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8)).save(path)
        path.write_bytes(path.read_bytes()[:600])
    else:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as e:
        read_image(path)
    assert "\n" not in str(e.value)


def test_missing_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="directory"):
        read_image(tmp_path)
