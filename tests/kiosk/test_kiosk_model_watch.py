"""Model hot reload on a private copy of the real model: a new model is swapped in, a corrupted
or missing one is refused and the old one keeps working, a store's `current` symlink flip is
noticed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from digitkiosk.device.loader import load_model
from digitkiosk.device.model_watch import ModelWatcher, fingerprint
from digitkiosk.device.package import TrustPolicy
from digitkiosk.device.recognizer import Recognizer

# These tests edit cards to reach the checks after trust; trust has its own tests
# (tests/deploy/test_trust_*.py), so unsigned models are allowed here (development mode).
DEVELOPMENT = TrustPolicy(Path("/nonexistent/trusted_keys"), allow_unsigned=True)


def settle(watcher: ModelWatcher):
    """A change must be seen twice (holding still) before it is acted on."""
    first = watcher.poll()
    return first if first is not None else watcher.poll()


def still_reads(recognizer: Recognizer, loaded_model) -> bool:
    from digitkiosk.device.loader import selftest_digits

    images, labels = selftest_digits()
    digits = recognizer.classify(images[:20].astype(np.float32) / 255.0)
    return sum(d.top3[0][0] == y for d, y in zip(digits, labels[:20], strict=True)) >= 18


def bump_version(model: Path, version: str) -> None:
    """The same network under a new card version: a 'new model' the loader accepts."""
    card = model.with_suffix(".json")
    data = json.loads(card.read_text())
    data["version"] = version
    card.write_text(json.dumps(data))


def test_unchanged_model_is_left_alone(model_copy):
    rec = Recognizer(load_model(model_copy, policy=DEVELOPMENT))
    watcher = ModelWatcher(rec, model_copy, policy=DEVELOPMENT)
    assert watcher.poll() is None and watcher.poll() is None


def test_new_model_is_swapped_in(model_copy):
    rec = Recognizer(load_model(model_copy, policy=DEVELOPMENT))
    changes = []
    watcher = ModelWatcher(rec, model_copy, policy=DEVELOPMENT, on_change=changes.append)
    bump_version(model_copy, "9999.1")
    change = settle(watcher)
    assert change is not None and change.kind == "reloaded"
    assert rec.model.card.version == "9999.1" and changes == [change]
    assert watcher.poll() is None  # and it is now the current one


def test_corrupted_model_is_refused_and_the_old_one_keeps_working(model_copy, loaded_model):
    rec = Recognizer(load_model(model_copy, policy=DEVELOPMENT))
    old = rec.model
    watcher = ModelWatcher(rec, model_copy, policy=DEVELOPMENT)
    data = bytearray(model_copy.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = os.urandom(64)
    model_copy.write_bytes(bytes(data))
    change = settle(watcher)
    assert change.kind == "refused" and "still using" in change.message
    assert rec.model is old and still_reads(rec, loaded_model)
    assert watcher.poll() is None and watcher.poll() is None  # told once, not every second


def test_missing_model_is_reported_and_a_restored_one_reloaded(model_copy, default_model_path, loaded_model):
    rec = Recognizer(load_model(model_copy, policy=DEVELOPMENT))
    old = rec.model
    watcher = ModelWatcher(rec, model_copy, policy=DEVELOPMENT)
    model_copy.unlink()
    change = settle(watcher)
    assert change.kind == "missing" and rec.model is old and still_reads(rec, loaded_model)
    shutil.copy2(default_model_path, model_copy)
    change = settle(watcher)
    # The same bytes with the same times may come back as the very same file stamp: nothing to
    # reload then, but the "missing" notice must be withdrawn either way.
    assert change.kind in ("reloaded", "restored")
    assert watcher.poll() is None


def test_half_written_model_is_not_tried_until_it_holds_still(model_copy):
    rec = Recognizer(load_model(model_copy, policy=DEVELOPMENT))
    watcher = ModelWatcher(rec, model_copy, policy=DEVELOPMENT)
    full = model_copy.read_bytes()
    model_copy.write_bytes(full[:1000])  # a copy in progress
    assert watcher.poll() is None  # seen once: waiting
    model_copy.write_bytes(full)  # copy finished (new inode/mtime)
    os.utime(model_copy, ns=(1, 1))
    assert watcher.poll() is None  # changed again: waiting again, nothing refused
    change = watcher.poll()
    assert change.kind == "reloaded"


def test_symlinked_store_flip_is_noticed(tmp_path, default_model_path):
    store = tmp_path / "store"
    for version in ("v1", "v2"):
        d = store / version
        d.mkdir(parents=True)
        for src in (default_model_path, default_model_path.with_suffix(".json")):
            shutil.copy2(src, d / src.name)
        bump_version(d / default_model_path.name, version)
    current = store / "current"
    current.symlink_to("v1")
    path = current / default_model_path.name
    rec = Recognizer(load_model(path, policy=DEVELOPMENT))
    watcher = ModelWatcher(rec, path, policy=DEVELOPMENT)
    before = fingerprint(path)
    tmp = store / "current.tmp"
    tmp.symlink_to("v2")
    tmp.replace(current)  # the atomic flip a model store does
    assert fingerprint(path) != before
    change = settle(watcher)
    assert change.kind == "reloaded" and rec.model.card.version == "v2"


def test_watcher_thread_runs_and_stops(model_copy):
    import threading

    rec = Recognizer(load_model(model_copy, policy=DEVELOPMENT))
    got = threading.Event()
    watcher = ModelWatcher(rec, model_copy, policy=DEVELOPMENT, interval=0.05, on_change=lambda c: got.set())
    watcher.start()
    try:
        bump_version(model_copy, "9999.2")
        assert got.wait(10)
        assert rec.model.card.version == "9999.2"
    finally:
        watcher.stop()
