"""MNIST loading: the four standard IDX files (gzipped or not) or a Keras-style mnist.npz.

Everything is checked (magic numbers, dimensions, counts, labels 0-9) so a corrupt or truncated
file is a one-line DataError, never a numpy traceback halfway through training.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError

log = logging.getLogger(__name__)

IMAGE_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned byte, 1 dimension
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass
class Mnist:
    x_train: np.ndarray  # (N, 28, 28) uint8, white ink on black
    y_train: np.ndarray  # (N,) uint8
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    checksums: dict[str, str] = field(default_factory=dict)  # sha256 of each file as read


def load_mnist(data: str | Path | None) -> Mnist:
    """Load MNIST from a directory of IDX files, a directory holding mnist.npz, an npz file, or
    (data=None) Keras's own cache/download."""
    if data is None:
        return _load_keras_download()
    path = Path(data)
    if not path.exists():
        raise DataError(f"data not found: {path}")
    if path.is_file():
        return _load_npz(path)
    if (path / "mnist.npz").is_file() and not _find(path, SPLITS["train"][0]):
        return _load_npz(path / "mnist.npz")
    return _load_idx_dir(path)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        p = directory / name
        if p.is_file():
            return p
    return None


def _read_bytes(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataError(f"{path}: file too large for MNIST")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupt or truncated gzip file ({e})") from None
    return raw


def parse_idx(raw: bytes, *, expect_magic: int, name: str) -> np.ndarray:
    """Parse an IDX byte string into an array, checking the header against the payload."""
    if len(raw) < 8:
        raise DataError(f"{name}: truncated IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expect_magic:
        raise DataError(f"{name}: not an MNIST IDX file (magic 0x{magic:08x}, expected 0x{expect_magic:08x})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated IDX header")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims)) + header
    if len(raw) != expected:
        raise DataError(
            f"{name}: {'truncated' if len(raw) < expected else 'oversized'} IDX file "
            f"(header says {dims}, {len(raw) - header} data bytes, expected {expected - header})"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _checked(x: np.ndarray, y: np.ndarray, split: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError(f"{name}: {split} images must be Nx28x28, got {'x'.join(map(str, x.shape))}")
    if y.ndim != 1:
        raise DataError(f"{name}: {split} labels must be one-dimensional")
    if len(x) != len(y):
        raise DataError(f"{name}: {split} has {len(x)} images but {len(y)} labels")
    if len(x) == 0:
        raise DataError(f"{name}: {split} set is empty")
    if y.max() > 9:
        raise DataError(f"{name}: {split} labels must be 0-9, found {int(y.max())}")
    return np.ascontiguousarray(x, dtype=np.uint8), np.ascontiguousarray(y, dtype=np.uint8)


def _load_idx_dir(directory: Path) -> Mnist:
    arrays: dict[str, np.ndarray] = {}
    checksums: dict[str, str] = {}
    for split, stems in SPLITS.items():
        for stem, magic in zip(stems, (IMAGE_MAGIC, LABEL_MAGIC), strict=True):
            p = _find(directory, stem)
            if p is None:
                raise DataError(f"{directory}: missing {stem}[.gz] (expected the four MNIST IDX files)")
            raw = _read_bytes(p)
            checksums[p.name] = hashlib.sha256(raw).hexdigest()
            arrays[f"{split}-{'x' if magic == IMAGE_MAGIC else 'y'}"] = parse_idx(
                raw, expect_magic=magic, name=p.name
            )
    xtr, ytr = _checked(arrays["train-x"], arrays["train-y"], "train", str(directory))
    xte, yte = _checked(arrays["test-x"], arrays["test-y"], "test", str(directory))
    log.info("loaded MNIST IDX from %s: %d train, %d test", directory, len(xtr), len(xte))
    return Mnist(xtr, ytr, xte, yte, source=str(directory), checksums=checksums)


def _load_npz(path: Path) -> Mnist:
    raw = _read_bytes(path)
    import io
    import zipfile

    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as f:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
            if missing:
                raise DataError(f"{path}: not a Keras mnist.npz (missing {', '.join(sorted(missing))})")
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise DataError(f"{path}: corrupt or truncated npz file ({e})") from None
    xtr, ytr = _checked(arrays["x_train"], arrays["y_train"], "train", str(path))
    xte, yte = _checked(arrays["x_test"], arrays["y_test"], "test", str(path))
    return Mnist(xtr, ytr, xte, yte, source=str(path), checksums={path.name: hashlib.sha256(raw).hexdigest()})


def _load_keras_download() -> Mnist:
    """For users without a local copy: Keras's cache (~/.keras/datasets), downloading if needed."""
    try:
        import keras
    except ImportError:
        from .errors import MissingExtraError

        raise MissingExtraError(
            "no --data given and Keras is not installed: install the [train] extra "
            "(pip install 'digitkiosk[train]') or pass --data DIR"
        ) from None
    try:
        path = keras.utils.get_file(
            "mnist.npz", origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
        )
    except Exception as e:  # network errors come in many types
        raise DataError(f"could not download MNIST ({e}); pass --data DIR with the IDX files") from None
    return _load_npz(Path(path))
