"""Corrections on the real kiosk (`--samples DIR`) under Xvfb: real pen digits drawn and the
Wrong? control, the pad's keys, Clear and Undo tapped with real xdotool clicks; what was kept
read back with `digitkiosk samples export`. Also a store the kiosk cannot use, and a full disk.

One kiosk serves the module's flow tests, which run in file order."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.kiosk.kiosk_driver import Kiosk, screenshot, xdotool

pytestmark = pytest.mark.display


def tap(rect: dict) -> None:
    x, y = rect["x"] + rect["width"] // 2, rect["y"] + rect["height"] // 2
    xdotool([f"mousemove {x} {y}", "click 1"])


def export(samples: os.PathLike, *extra: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "digitkiosk.device", "samples", "export", "--samples", str(samples), *extra],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [json.loads(x) for x in out.splitlines()]


def quit_cleanly(k: Kiosk) -> int | None:
    """SIGTERM, as systemd stops the kiosk; its exit status. Waits longer than the driver's stop
    (10 s): on the shared 2-core machine under the full suite one such quit took over 10 s once
    (alone it takes 0.3 s), and a slow quit is not what these tests are about."""
    k.proc.terminate()
    try:
        return k.proc.wait(60)
    except subprocess.TimeoutExpired:  # seen once under the full suite: say what the kiosk said
        pytest.fail(f"the kiosk did not quit within 60 s of SIGTERM; its log ends:\n{k.log_tail()}")
    finally:
        k.stop()


def pick(rows: list[dict], label: int, strokes: int | None = None) -> dict:
    return next(r for r in rows if r["label"] == label and (strokes is None or len(r["strokes"]) == strokes))


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return tmp_path_factory.mktemp("kiosk-samples") / "store"


@pytest.fixture(scope="module")
def kiosk(xdisplay, tmp_path_factory, samples):
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is not installed")
    d = tmp_path_factory.mktemp("kiosk-corr")
    k = Kiosk(d / "events.jsonl", "--samples", str(samples), "--samples-all", "--correction-idle", "2")
    yield k
    k.stop()


def write(kiosk: Kiosk, *rows: dict) -> dict:
    n = kiosk.draw([r["strokes"] for r in rows], keys_before=["Escape"])
    return kiosk.prediction(n)


def open_pad(kiosk: Kiosk) -> dict:
    tap(kiosk.ready["controls"]["wrong"])
    return kiosk.wait_for(lambda e: e["event"] == "correcting")


def test_ready_places_the_wrong_control(kiosk):
    wrong, clear = kiosk.ready["controls"]["wrong"], kiosk.ready["controls"]["clear"]
    assert wrong["width"] >= 40 and wrong["height"] >= 20  # a touch target
    assert wrong["y"] > clear["y"]  # below Clear / Undo, in the same panel
    assert wrong["x"] + wrong["width"] <= kiosk.ready["screen"]["width"]


def test_a_digit_is_corrected_with_one_tap_and_kept(kiosk, samples, pendigits_test):
    row = pick(pendigits_test, 7)
    p = write(kiosk, row)
    pad = open_pad(kiosk)
    assert set(pad["keys"]) == {*(str(d) for d in range(10)), "none"}
    assert "digits" not in pad  # one digit: nothing to choose
    for rect in pad["keys"].values():
        assert rect["width"] >= 40 and rect["height"] >= 40
    # The person says it is a 1 (whatever it read): the kiosk keeps exactly that.
    tap(pad["keys"]["1"])
    done = kiosk.wait_for(lambda e: e["event"] == "corrected")
    assert done == {**done, "text": "1", "was": p["text"], "strokes": len(row["strokes"]), "label": "1"}
    stored = kiosk.wait_for(lambda e: e["event"] == "samples_stored")
    (line,) = [x for x in export(samples) if x["id"] == stored["ids"][0]]
    assert line["label"] == 1 and line["predicted"] == p["digits"][0]["digit"] and line["confirmed"]
    assert len(line["strokes"]) == len(row["strokes"]) == len(p["strokes"])
    assert line["strokes"] == p["strokes"]  # the ink as drawn (canvas pixels), nothing else
    assert line["model"] == kiosk.ready["model"]["version"]


def test_in_a_number_the_tapped_digit_is_corrected(kiosk, samples, pendigits_test, artifacts_dir):
    four, five = pick(pendigits_test, 4, strokes=2), pick(pendigits_test, 5, strokes=2)
    p = write(kiosk, four, five)
    assert len(p["digits"]) == 2, p["text"]
    pad = open_pad(kiosk)
    assert len(pad["digits"]) == 2
    tap(pad["digits"][1])  # the second digit of the number
    pad = kiosk.wait_for(lambda e: e["event"] == "correcting")
    assert pad["selected"] == 1
    assert screenshot(artifacts_dir / "kiosk_correction_pad.png")
    tap(pad["keys"]["3"])
    done = kiosk.wait_for(lambda e: e["event"] == "corrected")
    assert done["text"] == p["digits"][0]["digit"] + "3" and done["was"] == p["text"]
    assert done["strokes"] == 2 and done["digit"] == 1
    stored = kiosk.wait_for(lambda e: e["event"] == "samples_stored")
    (line,) = [x for x in export(samples) if x["id"] == stored["ids"][0]]
    assert line["label"] == 3 and line["strokes"] == p["strokes"][2:]  # the 5's two strokes only


def test_the_pad_closes_by_itself_and_clear_and_undo_keep_working(kiosk, samples, pendigits_test):
    row = pick(pendigits_test, 2)
    write(kiosk, row)
    open_pad(kiosk)
    closed = kiosk.wait_for(lambda e: e["event"] == "correction_closed", timeout=10)
    assert closed["reason"] == "idle"
    # Undo with the pad open: the pad closes, the stroke goes.
    open_pad(kiosk)
    tap(kiosk.ready["controls"]["undo"])
    kiosk.wait_for(lambda e: e["event"] == "undo")
    assert kiosk.wait_for(lambda e: e["event"] == "correction_closed")["reason"] == "ink"
    # Clear: the reading nobody corrected is kept as unconfirmed (--samples-all).
    p = write(kiosk, pick(pendigits_test, 6))
    tap(kiosk.ready["controls"]["clear"])
    kiosk.wait_for(lambda e: e["event"] == "cleared")
    stored = kiosk.wait_for(lambda e: e["event"] == "samples_stored")
    assert stored["confirmed"] is False
    (line,) = [x for x in export(samples, "--all") if x["id"] == stored["ids"][0]]
    assert line["confirmed"] is False and line["label"] is None
    assert line["predicted"] == p["digits"][0]["digit"]
    # Corrections only, by default: the unconfirmed reading is not exported for training.
    assert stored["ids"][0] not in [x["id"] for x in export(samples)]
    # With nothing on the canvas, Wrong? does nothing.
    tap(kiosk.ready["controls"]["wrong"])
    xdotool(["sleep 0.5"])
    assert not [e for e in kiosk.new_events() if e["event"] == "correcting"]


def test_a_store_the_kiosk_cannot_use_turns_corrections_off_not_the_kiosk(xdisplay, tmp_path, pendigits_test):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "samples.sqlite3").write_bytes(b"this is not a database\n" * 100)
    # Named by the environment, as the kiosk service's kiosk.env does.
    k = Kiosk(tmp_path / "events.jsonl", env={**os.environ, "DIGITKIOSK_SAMPLES": str(bad)})
    try:
        assert "wrong" not in k.ready["controls"]
        notice = k.wait_for(lambda e: e["event"] == "notice")
        assert "corrections off" in notice["message"] and "not a readable sample store" in notice["message"]
        p = k.prediction(k.draw([pick(pendigits_test, 3)["strokes"]]))
        assert p["text"]  # it reads digits as ever
    finally:
        assert quit_cleanly(k) == 0
    assert (bad / "samples.sqlite3").read_bytes() == b"this is not a database\n" * 100


@pytest.fixture()
def tiny_disk(tmp_path):
    """A real 1 MiB filesystem (tmpfs) that can be filled up."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_is_reported_and_the_kiosk_keeps_running(xdisplay, tmp_path, tiny_disk, pendigits_test):
    k = Kiosk(tmp_path / "events.jsonl", "--samples", str(tiny_disk / "samples"))
    try:
        filler = tiny_disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as f:  # fill the disk to the last block
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        errors = []
        for label in (1, 4, 8):
            row = pick(pendigits_test, label)
            k.prediction(k.draw([row["strokes"]], keys_before=["Escape"]))
            pad = open_pad(k)
            tap(pad["keys"][str(label)])
            k.wait_for(lambda e: e["event"] == "corrected")
            errors.append(k.wait_for(lambda e: e["event"] in ("error", "samples_stored"), timeout=15))
        assert any(e["event"] == "error" and e["where"] == "samples" for e in errors), errors
        assert any("full" in e.get("error", "") for e in errors), errors
        # Still reading digits, and the log says why nothing was kept.
        p = k.prediction(k.draw([pick(pendigits_test, 0)["strokes"]], keys_before=["Escape"]))
        assert p["text"]
        assert "full" in k.log_tail()
    finally:
        assert quit_cleanly(k) == 0
