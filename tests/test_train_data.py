"""MNIST loaders on small real IDX/npz files written in a temp dir, including corrupt ones, and the
trainer CLI's one-line errors (no TensorFlow needed: data is checked before training starts)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from digitkiosk.train import cli
from digitkiosk.train.data import IMAGE_MAGIC, LABEL_MAGIC, load_mnist
from digitkiosk.train.errors import DataError


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_dir(d: Path, x_tr, y_tr, x_te, y_te, gz: bool = True) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "train-images-idx3-ubyte": idx_bytes(x_tr, IMAGE_MAGIC),
        "train-labels-idx1-ubyte": idx_bytes(y_tr, LABEL_MAGIC),
        "t10k-images-idx3-ubyte": idx_bytes(x_te, IMAGE_MAGIC),
        "t10k-labels-idx1-ubyte": idx_bytes(y_te, LABEL_MAGIC),
    }
    for name, raw in files.items():
        if gz:
            (d / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (d / name).write_bytes(raw)
    return d


@pytest.fixture(scope="module")
def small(mnist_test):
    x, y = mnist_test
    return x[:300], y[:300], x[300:400], y[300:400]


@pytest.mark.parametrize("gz", [True, False])
def test_idx_dir_round_trip(tmp_path, small, gz):
    d = write_idx_dir(tmp_path / "m", *small, gz=gz)
    m = load_mnist(d)
    assert m.x_train.shape == (300, 28, 28) and m.x_test.shape == (100, 28, 28)
    np.testing.assert_array_equal(m.x_train, small[0])
    np.testing.assert_array_equal(m.y_test, small[3])
    assert len(m.checksums) == 4


def test_real_shared_mnist(mnist_dir):
    m = load_mnist(mnist_dir)
    assert m.x_train.shape == (60000, 28, 28) and m.x_test.shape == (10000, 28, 28)
    # The counts published in shared/data/README.md
    assert np.bincount(m.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_npz_file_and_dir(tmp_path, small):
    x_tr, y_tr, x_te, y_te = small
    np.savez(tmp_path / "mnist.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    for source in (tmp_path / "mnist.npz", tmp_path):
        m = load_mnist(source)
        np.testing.assert_array_equal(m.y_train, y_tr)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncate_gz", "corrupt or truncated gzip"),
        ("truncate_raw", "truncated IDX file"),
        ("bad_magic", "not an MNIST IDX file"),
        ("count_mismatch", "300 images but 299 labels"),
        ("missing_file", "missing t10k-labels-idx1-ubyte"),
        ("bad_label", "labels must be 0-9"),
        ("bad_shape", "must be Nx28x28"),
    ],
)
def test_corrupt_idx(tmp_path, small, damage, message):
    x_tr, y_tr, x_te, y_te = small
    if damage == "count_mismatch":
        y_tr = y_tr[:299]
    if damage == "bad_label":
        y_tr = y_tr.copy()
        y_tr[5] = 12
    if damage == "bad_shape":
        x_tr = x_tr.reshape(300, 14, 56)
    d = write_idx_dir(tmp_path / "m", x_tr, y_tr, x_te, y_te, gz=damage != "truncate_raw")
    if damage == "truncate_gz":
        p = d / "train-images-idx3-ubyte.gz"
        p.write_bytes(p.read_bytes()[:5000])
    if damage == "truncate_raw":
        p = d / "train-images-idx3-ubyte"
        p.write_bytes(p.read_bytes()[:-100])
    if damage == "bad_magic":
        p = d / "t10k-labels-idx1-ubyte.gz"
        p.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + gzip.decompress(p.read_bytes())[4:]))
    if damage == "missing_file":
        (d / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=message):
        load_mnist(d)


def test_corrupt_npz(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(DataError, match="corrupt or truncated npz"):
        load_mnist(tmp_path / "mnist.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(DataError, match=r"not a Keras mnist\.npz"):
        load_mnist(tmp_path / "other.npz")


def _run_cli(args, capsys) -> tuple[int, str, str]:
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_missing_data_dir(tmp_path, capsys):
    code, _out, err = _run_cli(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert err.strip().splitlines() == [f"digitkiosk-train: error: data not found: {tmp_path / 'nope'}"]
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_cli_corrupt_data(tmp_path, small, capsys):
    d = write_idx_dir(tmp_path / "m", *small)
    p = d / "train-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:20])
    code, _, err = _run_cli(["fit", "--data", str(d), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "train-labels-idx1-ubyte.gz" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "bad",
    [
        ["--epochs", "0"],
        ["--epochs", "many"],
        ["--batch-size", "-3"],
        ["--bogus"],
        ["--widths", "16,32"],
        ["--widths", "16,32,x,64,64"],
        ["--label-smoothing", "1.5"],
        ["--camera-digits", "-5"],
        ["--pen-repeat", "0"],
        ["--pen", "x.jsonl:0"],
        ["--elastic", "-1"],
        ["--elastic", "wobbly"],
    ],
)
def test_cli_bad_arguments(bad, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["fit", *bad])
    assert e.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "fit" in out and "evaluate" in out and "export" in out


def test_cli_without_train_extra(monkeypatch, tmp_path, capsys):
    """Without TensorFlow installed the command says which extra to install, no traceback."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name, *a)
    )
    code, _, err = _run_cli(["fit", "--data", str(tmp_path)], capsys)
    assert code == 2
    assert "pip install 'digitkiosk[train]'" in err and "Traceback" not in err
