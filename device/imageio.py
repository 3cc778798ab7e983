"""Reading photos and scans for `digitkiosk predict`, safely.

The size is checked from the file's header before anything is decoded, so a 20000x20000 PNG
is refused (or a huge JPEG decoded reduced) without the memory for its pixels ever being
allocated; Pillow's decompression-bomb warnings and errors become one-line InputErrors.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError

log = logging.getLogger(__name__)

#: Larger images are refused, except JPEGs, which are decoded reduced (JPEG can do that cheaply).
MAX_PIXELS = 24_000_000
#: JPEGs above MAX_PIXELS are decoded at 1/2, 1/4 or 1/8 until their longer side fits this.
JPEG_DRAFT_SIDE = 4096


def read_image(path: str | Path) -> np.ndarray:
    """An image file → gray uint8 (H, W). Any problem → InputError with a one-line message."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not an image")
    try:
        size = p.stat().st_size
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from None
    if size == 0:
        raise InputError(f"{p}: empty file (0 bytes), not an image")
    try:
        with warnings.catch_warnings():
            # Our own limit (checked below from the header) applies; Pillow's bomb warning must
            # not print a traceback-looking line, and its error must not escape.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                return _decode(im, p)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"{p}: image too large to decode safely ({_first_line(e)})") from None
    except UnidentifiedImageError:
        raise InputError(f"{p}: not an image file (or an unsupported format)") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as e:
        # Truncated or corrupt data surfaces from the decoder as any of these.
        raise InputError(f"{p}: cannot decode the image ({_first_line(e)})") from None


def _decode(im: Image.Image, p: Path) -> np.ndarray:
    w, h = im.size
    if w < 1 or h < 1:
        raise InputError(f"{p}: the image has no pixels ({w}x{h})")
    if w * h > MAX_PIXELS:
        if im.format != "JPEG":
            raise InputError(
                f"{p}: image too large ({w}x{h} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels)"
            )
        # The JPEG decoder scales by 1/2, 1/4 or 1/8 while decoding: memory for the reduced
        # image only.
        # draft() picks the strongest reduction whose result is still at least the size asked
        # for: ask for the size at the reduction we want.
        reduction = next((r for r in (2, 4, 8) if max(w, h) / r <= JPEG_DRAFT_SIDE), 8)
        im.draft("L", (w // reduction, h // reduction))
        log.info("%s: %dx%d JPEG decoded reduced to %dx%d", p, w, h, *im.size)
        if im.size[0] * im.size[1] > MAX_PIXELS:
            raise InputError(f"{p}: image too large ({w}x{h} pixels)")
    im.load()
    # Phone photos are stored sideways with an orientation tag.
    im = ImageOps.exif_transpose(im)
    return _to_gray(im)


def _to_gray(im: Image.Image) -> np.ndarray:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Transparent pixels are often stored black: put them on white paper, or dark ink on a
        # transparent background would vanish.
        rgba = im.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(paper, rgba)
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(im, dtype=np.float32)
        lo, hi = float(a.min()), float(a.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return ((a - lo) * scale).astype(np.uint8)
    return np.asarray(im.convert("L"), dtype=np.uint8).copy()


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
