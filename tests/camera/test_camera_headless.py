"""`digitkiosk camera --headless` in-process on real video files written with OpenCV."""

from __future__ import annotations

import itertools
import json
import time

import cv2
import numpy as np
import pytest
from digitkiosk.device.camera.capture import Capture
from digitkiosk.device.camera.source import SourceSpec
from digitkiosk.device.cli import main
from digitkiosk.train.amounts import digits_correct


def _events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _run(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = main(["camera", "--headless", *args])
    out, err = capsys.readouterr()
    return code, _events(out), err


def test_static_scenes_read_once_each(capsys, tmp_path, static_clip):
    clip, truths = static_clip
    events_file = tmp_path / "events.jsonl"
    code, events, err = _run(capsys, "--source", str(clip), "--every-frame", "--events", str(events_file))
    assert code == 0, err
    assert "Traceback" not in err
    readings = [e for e in events if e["event"] == "reading"]
    # A static scene gives one report: the number does not change while the scene stays.
    assert len(readings) == len(truths), [r["text"] for r in readings]
    total = sum(len([c for c in t if c.isdigit()]) for t in truths)
    correct = sum(digits_correct(t, r["text"]) for t, r in zip(truths, readings, strict=True))
    # Measured 0.94-1.0 on such clips with the interim model; misses are mostly "?" (below the
    # reject threshold). The benchmark (tests/benchmarks/bench_camera.py) measures on more.
    assert correct / total >= 0.93, list(zip(truths, [r["text"] for r in readings], strict=True))
    assert sum(r["text"] == t for t, r in zip(truths, readings, strict=True)) >= len(truths) - 2
    for r in readings:
        assert r["stable_frames"] >= 5
        for d in r["digits"]:
            assert set(d) >= {"digit", "confidence", "top3", "box"}
    summary = events[-1]
    assert summary["event"] == "summary" and summary["state"] == "ended"
    assert summary["processed"] == summary["frames"] == 90 and summary["dropped"] == 0
    assert [e["state"] for e in events if e["event"] == "status"] == ["live", "ended"]
    # The events file holds the same lines.
    assert _events(events_file.read_text()) == events


@pytest.mark.realtime
def test_paced_file_ends_cleanly(capsys, static_clip):
    clip, _ = static_clip
    t0 = time.monotonic()
    code, events, err = _run(capsys, "--source", str(clip), "--max-frames", "40")
    assert code == 0, err
    # Played at its own 30 fps, like a camera.
    assert time.monotonic() - t0 >= 1.0
    assert events[-1]["event"] == "summary" and events[-1]["processed"] == 40


def _write(path, frames, fps=30.0):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(f if f.ndim == 3 else cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    writer.release()


def test_bad_frames_give_status_never_a_guess(capsys, tmp_path):
    rng = np.random.default_rng(0)
    specks = np.full((480, 640), 205, np.uint8)
    for _ in range(400):
        cv2.circle(specks, (int(rng.integers(640)), int(rng.integers(480))), int(rng.integers(1, 3)), 40, -1)
    frames = (
        [np.zeros((480, 640), np.uint8)] * 10
        + [np.full((480, 640), 255, np.uint8)] * 10
        + [np.clip(200 + rng.normal(0, 3, (480, 640)), 0, 255).astype(np.uint8) for _ in range(10)]
        + [specks] * 10
    )
    clip = tmp_path / "bad.avi"
    _write(clip, frames)
    code, events, err = _run(capsys, "--source", str(clip), "--every-frame")
    assert code == 0, err
    assert not [e for e in events if e["event"] == "reading"]
    views = [e["status"] for e in events if e["event"] == "view"]
    assert views[:2] == ["too dark", "overexposed"]
    assert views[-2:] == ["blank image", "too cluttered"]  # blank paper, then specks


@pytest.mark.parametrize("kind", ["missing", "garbage", "empty"])
def test_unopenable_file(capsys, tmp_path, kind):
    path = tmp_path / "clip.avi"
    if kind == "garbage":
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif kind == "empty":
        path.write_bytes(b"")
    code, events, err = _run(capsys, "--source", str(path))
    assert code == 1
    assert "Traceback" not in err
    status = [e for e in events if e["event"] == "status"]
    assert status[-1]["state"] == "failed" and str(path) in status[-1]["message"]
    assert events[-1]["event"] == "summary" and events[-1]["processed"] == 0


def test_missing_camera_and_dead_stream_retry_then_fail(capsys):
    code, events, err = _run(capsys, "--source", "/dev/video97", "--retries", "0")
    assert code == 1 and "Traceback" not in err
    assert [e["state"] for e in events if e["event"] == "status"] == ["failed"]
    t0 = time.monotonic()
    code, events, err = _run(capsys, "--source", "rtsp://127.0.0.1:9/none", "--retries", "2")
    states = [e["state"] for e in events if e["event"] == "status"]
    assert code == 1 and "Traceback" not in err
    assert states == ["reconnecting", "reconnecting", "failed"]
    assert "retry 2 in 1.0 s" in [e for e in events if e["event"] == "status"][1]["message"]
    assert time.monotonic() - t0 >= 1.5  # backoff 0.5 s then 1 s


@pytest.mark.realtime
def test_network_stream_that_drops_is_reconnected(capsys, stream_server, static_clip):
    # A real HTTP stream, read live (stale frames dropped): to its end (the connection drops),
    # then the camera is down for one try (503), comes back and is read again, then is gone.
    url, server = stream_server
    _clip, truths = static_clip
    server.down = {2, *range(4, 100)}
    code, events, err = _run(capsys, "--source", url, "--retries", "2")
    assert code == 1 and "Traceback" not in err
    kinds = [e["event"] if e["event"] != "status" else e["state"] for e in events]
    assert kinds[0] == "live" and kinds[-2:] == ["failed", "summary"]
    assert kinds.count("live") == 2  # connected, then reconnected after the drop
    first, second = kinds.index("live"), kinds.index("live", 1)
    lost = [e["message"] for e in events if e.get("state") == "reconnecting"]
    assert lost[0] == f"lost {url}; retry 1 in 0.5 s" and len(lost) == 4  # 1 drop + 1 down, then 2
    read_before = [e["text"] for e in events[first:second] if e["event"] == "reading"]
    read_after = [e["text"] for e in events[second:] if e["event"] == "reading"]
    # Readings on both connections, in the clip's order: the stream was read, not just opened.
    # (A scene can pass unreported while the stream is probed at the start of a connection.)
    for read in (read_before, read_after):
        assert len(read) >= len(truths) // 2, read
        scenes = [max(truths, key=lambda t, r=r: digits_correct(t, r)) for r in read]
        assert scenes == [t for t in truths if t in scenes], read
        correct = sum(digits_correct(t, r) for t, r in zip(scenes, read, strict=True))
        assert correct >= 0.9 * sum(c.isdigit() for t in scenes for c in t), read
    assert server.requests >= 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--roi", "1,2,3"], "--roi must be X,Y,W,H"),
        (["--roi", "0,0,-5,10"], "--roi needs"),
        (["--stable", "0"], "--stable must be"),
        (["--max-frames", "0"], "--max-frames must be"),
        (["--duration", "-1"], "--duration must be"),
        (["--source", ""], "video source is empty"),
    ],
)
def test_bad_options_one_line(capsys, args, message):
    code = main(["camera", "--headless", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_capture_keeps_only_the_newest_frame(static_clip):
    clip, _ = static_clip
    seen = []
    with Capture(SourceSpec.parse(str(clip))) as capture:  # paced at 30 fps
        while True:
            frame = capture.next_frame(timeout=1.0)
            if frame is None:
                break
            seen.append(frame.index)
            time.sleep(0.1)  # a slow consumer: three frames arrive meanwhile
        assert capture.status.state == "ended"
        assert capture.frames_dropped > 30
    assert seen == sorted(seen) and len(seen) < 45
    assert max(b - a for a, b in itertools.pairwise(seen)) >= 2  # stale frames skipped


def test_roi_limits_reading(capsys, tmp_path, mnist_bank):
    from digitkiosk.train.pages import plain_page

    rng = np.random.default_rng(9)
    photo, ink, text = plain_page(
        mnist_bank, rng, paper=225, contrast=190, lines=2, numbers_per_line=(1, 1), digits_per_number=(3, 3)
    )
    clip = tmp_path / "roi.avi"
    _write(clip, [photo] * 8)
    rows = np.flatnonzero(ink.max(axis=1) > 0.3)
    mid = (rows[0] + rows[-1]) // 2
    code, events, _ = _run(
        capsys, "--source", str(clip), "--every-frame", "--roi", f"0,{mid},640,{480 - mid}"
    )
    readings = [e["text"] for e in events if e["event"] == "reading"]
    assert code == 0 and len(readings) == 1
    assert digits_correct(text.split("\n")[1], readings[0]) >= 2 and "\n" not in readings[0]


def test_one_bad_frame_never_ends_the_loop(static_clip, loaded_model):
    """The loop shared by the window and --headless guards every frame: a recognizer that fails
    on one frame (an interpreter error) loses that frame, not the run."""
    import io

    from digitkiosk.device.camera.loop import CameraLoop, LoopOptions
    from digitkiosk.device.events import EventLog
    from digitkiosk.device.recognizer import Recognizer

    class FailsOnce(Recognizer):
        calls = 0

        def read_found(self, found, started=None):
            FailsOnce.calls += 1
            if FailsOnce.calls == 3:
                raise RuntimeError("interpreter failed on this frame")
            return super().read_found(found, started)

    clip, truths = static_clip
    out = io.StringIO()
    spec, options = SourceSpec.parse(str(clip)), LoopOptions(every_frame=True)
    loop = CameraLoop(FailsOnce(loaded_model), spec, options, EventLog(stream=out))
    stats = loop.run()
    assert FailsOnce.calls > 3 and stats.state == "ended"
    assert stats.processed == stats.frames_read - 1 == 89  # every frame but the one that failed
    assert len(loop.readings) == len(truths)
    assert [e["text"] for e in _events(out.getvalue()) if e["event"] == "reading"] == loop.readings
