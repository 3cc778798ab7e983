"""Averaging line models (`train/line_ensemble.py`): the averaged net answers the mean of its
members' logits (the normalised geometric mean of their softmax outputs), and bad input is one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from digitkiosk.train import line_ensemble
from digitkiosk.train.line_fit import build_line_model


def test_average_is_the_mean_of_the_members_logits(tmp_path: Path):
    import keras

    paths = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        model = build_line_model((4, 4, 8, 8, 8), 0.0)
        paths.append(str(tmp_path / f"m{seed}.keras"))
        model.save(paths[-1])
    x = (
        np.random.default_rng(0)
        .random((3, *build_line_model((4, 4, 8, 8, 8)).input.shape[1:]))
        .astype("float32")
    )
    members = [keras.models.load_model(p, compile=False) for p in paths]
    want = np.mean([m(x, training=False).numpy() for m in members], axis=0)
    got = line_ensemble.average(paths)(x, training=False).numpy()
    assert got.shape == want.shape and np.allclose(got, want, atol=1e-5)
    assert not np.allclose(members[0](x).numpy(), members[1](x).numpy())  # two different nets


def test_vote_stacks_the_members_logits(tmp_path: Path):
    """`--combine vote` or `posterior`: one net whose output is every member's logits, (K, T, C),
    for the device to decode each and choose (`device/ctc.py`)."""
    import keras

    paths = []
    for seed in (1, 2, 3):
        keras.utils.set_random_seed(seed)
        paths.append(str(tmp_path / f"m{seed}.keras"))
        build_line_model((4, 4, 8, 8, 8), 0.0).save(paths[-1])
    x = np.random.default_rng(0).random((2, 32, 160, 1)).astype("float32")
    members = [keras.models.load_model(p, compile=False)(x, training=False).numpy() for p in paths]
    got = line_ensemble.average(paths, "vote")(x, training=False).numpy()
    assert got.shape == (2, 3, 40, 11) and np.allclose(got, np.stack(members, axis=1), atol=1e-5)
    assert np.allclose(line_ensemble.average(paths, "posterior")(x, training=False).numpy(), got, atol=1e-5)
    assert line_ensemble.average(paths[:1], "vote") is not None  # one member: that net


def test_a_missing_file_is_one_line(tmp_path: Path, capsys):
    assert line_ensemble.main([str(tmp_path / "nope.keras"), "--out", str(tmp_path)]) == 2
    assert line_ensemble.main([str(tmp_path / "a.keras"), str(tmp_path / "b.keras")]) == 2
    err = capsys.readouterr().err
    assert "no such line model" in err and "Traceback" not in err


def test_a_malformed_job_is_one_line(tmp_path: Path, capsys):
    member = tmp_path / "a.keras"
    member.write_bytes(b"not read: the jobs are checked first")
    for spec in ("tables=0", "pictures=one", "pictures"):
        assert line_ensemble.main([str(member), "--job", spec, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--job" in err and "Traceback" not in err, err
