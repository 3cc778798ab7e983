"""The kiosk's logic without a display: ink, undo/clear, timing decisions, what is shown, the
canvas guards (on the real model with real pen digits), the worker thread and the event log."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from digitkiosk.device.kiosk.controller import (
    LIVE_INTERVAL_S,
    CanvasResult,
    InkController,
    prediction_record,
    present,
    stroke_width_for_screen,
)
from digitkiosk.device.kiosk.reading import MAX_STROKES, min_mark_size, read_canvas
from digitkiosk.device.kiosk.worker import RecognitionWorker, Request

from tests.kiosk.kiosk_driver import place_digits

CANVAS = {"x": 0, "y": 0, "width": 900, "height": 760}
SIZE = (CANVAS["width"], CANVAS["height"])


def draw(ctl: InkController, strokes, t: float = 0.0) -> float:
    for s in strokes:
        ctl.pen_down(*s[0], t)
        for p in s[1:]:
            t += 0.01
            ctl.pen_move(*p, t)
        ctl.pen_up(*s[-1], t)
    return t


def canvas_strokes(*digits) -> list[np.ndarray]:
    return [np.asarray(s, dtype=np.float64) for s in place_digits([d["strokes"] for d in digits], CANVAS)]


# -- ink ------------------------------------------------------------------------------------------
def test_pen_builds_strokes_and_a_smooth_connected_line():
    ctl = InkController(SIZE)
    ctl.pen_down(100, 100, 0.0)
    drawn = [(100.0, 100.0)]
    for i in range(1, 20):
        path = ctl.pen_move(100 + 10 * i, 100 + (i % 2) * 15, i * 0.01)
        assert path and path[0] == pytest.approx(drawn[-1])  # each piece starts where the last ended
        drawn += path[1:]
    stroke, tail = ctl.pen_up(290, 115, 0.3)
    drawn += tail[1:]
    assert stroke is not None and len(ctl.strokes) == 1
    assert drawn[-1] == pytest.approx(stroke.points[-1])  # the line ends exactly at the pen
    # Smoothing adds points between motion events: more drawn points than raw ones.
    assert len(drawn) > len(stroke.points)


def test_points_too_close_are_dropped():
    ctl = InkController(SIZE)
    ctl.pen_down(50, 50, 0)
    for _ in range(100):
        ctl.pen_move(50.5, 50.5, 0.1)
    ctl.pen_up(50.5, 50.5, 0.2)
    assert len(ctl.strokes[0].points) == 1


def test_a_stroke_leaving_the_canvas_ends_at_the_edge_and_reentering_starts_a_new_one():
    ctl = InkController((200, 200))
    ctl.pen_down(100, 100, 0)
    ctl.pen_move(150, 100, 0.01)
    ctl.pen_move(260, 100, 0.02)  # outside
    assert ctl.current is None
    assert ctl.strokes[0].points[-1] == (199.0, 100.0)
    assert ctl.pen_move(300, 120, 0.03) == []  # still outside: nothing
    ctl.pen_move(180, 150, 0.04)  # back in
    ctl.pen_move(120, 150, 0.05)
    ctl.pen_up(120, 150, 0.06)
    assert len(ctl.strokes) == 2
    assert all(ctl.inside(x, y) for s in ctl.strokes for x, y in s.points)


def test_pen_down_outside_the_canvas_draws_nothing():
    ctl = InkController((200, 200))
    assert ctl.pen_down(-5, 10, 0) is None
    assert ctl.pen_up(-5, 10, 0) == (None, [])
    assert ctl.empty


def test_undo_and_clear_bump_the_version_so_stale_answers_are_dropped():
    ctl = InkController(SIZE)
    draw(ctl, [[(10, 10), (60, 60)], [(100, 10), (150, 60)]])
    v = ctl.version
    assert ctl.undo(1.0) is not None and len(ctl.strokes) == 1 and ctl.version > v
    v = ctl.version
    assert ctl.clear(2.0) is True and ctl.empty and ctl.version > v
    assert ctl.undo(3.0) is None  # nothing to undo
    assert ctl.clear(4.0) is False


def test_no_undo_while_a_stroke_is_being_drawn():
    ctl = InkController(SIZE)
    draw(ctl, [[(10, 10), (60, 60)]])
    ctl.pen_down(100, 100, 1.0)
    assert ctl.undo(1.1) is None
    assert len(ctl.strokes) == 2


def test_live_recognition_is_debounced_while_drawing():
    ctl = InkController(SIZE)
    assert not ctl.wants_live(0.0)  # not drawing
    ctl.pen_down(10, 10, 0.0)
    asks = [t for t in np.arange(0, 1.0, 0.01) if ctl.wants_live(float(t))]
    assert len(asks) == pytest.approx(1.0 / LIVE_INTERVAL_S, abs=2)
    ctl.pen_up(10, 10, 1.0)
    assert not ctl.wants_live(5.0)


def test_idle_auto_clear_timing():
    ctl = InkController(SIZE, idle_clear_s=30)
    assert not ctl.idle_clear_due(100.0)  # nothing to clear
    t = draw(ctl, [[(10, 10), (60, 60)]], t=0.0)
    assert not ctl.idle_clear_due(t + 29)
    assert ctl.idle_clear_due(t + 30)
    ctl.pen_down(100, 100, t + 31)
    assert not ctl.idle_clear_due(t + 100)  # never while the pen is down
    assert not InkController(SIZE, idle_clear_s=0).idle_clear_due(1e9)


def test_stroke_width_scales_with_the_screen():
    assert stroke_width_for_screen(1280, 800) < stroke_width_for_screen(3840, 2160)
    assert stroke_width_for_screen(320, 240) >= 4


def test_snapshot_is_a_copy():
    ctl = InkController(SIZE)
    ctl.pen_down(10, 10, 0)
    ctl.pen_move(40, 40, 0.1)
    snap = ctl.snapshot()
    ctl.pen_move(80, 80, 0.2)
    assert len(snap[0]) == 2 and len(ctl.strokes[0].points) == 3


# -- reading the canvas (real model, real pen digits) ---------------------------------------------
def test_pen_digits_are_read(recognizer, pendigits_train):
    rows = pendigits_train[:60]
    correct = sum(
        read_canvas(recognizer, canvas_strokes(r), SIZE).reading.text == str(r["label"]) for r in rows
    )
    assert correct >= 0.9 * len(rows)


def test_two_digits_side_by_side_read_as_a_number(recognizer, pendigits_train):
    a, b = pendigits_train[3], pendigits_train[8]
    result = read_canvas(recognizer, canvas_strokes(a, b), SIZE)
    assert len(result.reading.digits) == 2
    assert result.reading.text in (f"{a['label']}{b['label']}", f"?{b['label']}", f"{a['label']}?")


def test_a_tap_or_a_speck_is_too_small_never_a_guess(recognizer):
    tap = [np.array([[300.0, 300.0]])]
    assert read_canvas(recognizer, tap, SIZE).status == "too_small"
    side = min_mark_size(SIZE) * 0.8
    speck = [np.array([[300, 300], [300 + side, 300 + side / 2], [300, 300 + side]], dtype=float)]
    result = read_canvas(recognizer, speck, SIZE)
    assert result.status == "too_small" and result.reading is None
    assert present(result).big == "?" and "small" in present(result).caption.lower()


def test_a_speck_beside_a_digit_is_ignored(recognizer, pendigits_train):
    row = pendigits_train[0]
    strokes = [*canvas_strokes(row), np.array([[850.0, 100.0]])]
    result = read_canvas(recognizer, strokes, SIZE)
    assert len(result.reading.digits) == 1


def test_empty_and_too_much_ink(recognizer):
    assert read_canvas(recognizer, [], SIZE).status == "empty"
    rng = np.random.default_rng(0)
    scribble = [rng.uniform(0, 700, size=(20, 2)) for _ in range(MAX_STROKES + 1)]
    assert read_canvas(recognizer, scribble, SIZE).status == "too_much"


def test_a_long_scribble_gives_an_answer_not_an_error(recognizer):
    rng = np.random.default_rng(1)
    scribble = [np.cumsum(rng.normal(0, 30, size=(3000, 2)), axis=0) % 700]
    result = read_canvas(recognizer, scribble, SIZE)
    # One stroke of 3000 points is within the limits: it is read (as whatever it looks like),
    # neither refused as too much ink nor an error.
    assert result.status in ("ok", "unsure") and result.reading is not None and result.reading.digits
    assert present(result).big == result.reading.text


# -- what is shown --------------------------------------------------------------------------------
def test_presentation_of_sure_unsure_and_multi_digit(recognizer, pendigits_train):
    row = pendigits_train[0]  # a clearly written 8, read sure by the bundled model
    result = read_canvas(recognizer, canvas_strokes(row), SIZE)
    p = present(result)
    assert result.status == "ok" and result.reading.text == str(row["label"])
    classes = len(recognizer.model.card.labels)  # 10 digits, or 11 with "none" (not a digit)
    assert p.big == result.reading.text and p.bars.shape == (classes,) and len(p.images) == 1
    assert p.images[0].shape == (28, 28)
    assert p.sure and p.caption.endswith("% sure")

    d = result.reading.digits[0]
    d.digit = None  # as if below the reject threshold
    unsure = present(CanvasResult("unsure", result.reading))
    assert unsure.big == "?" and not unsure.sure and unsure.caption.startswith("Not sure")
    d.probs, d.confidence = np.eye(11, dtype=np.float32)[10], 0.0  # as if read as "none"
    caption = present(CanvasResult("unsure", result.reading)).caption
    assert caption.startswith("That does not look like a digit")

    two = read_canvas(recognizer, canvas_strokes(pendigits_train[3], pendigits_train[8]), SIZE)
    last_right = np.array([[850.0, 300.0]])
    p2 = present(two, last_right)
    assert p2.bars_label == "digit 2 of 2"
    assert np.allclose(p2.bars, two.reading.digits[1].probs)


def test_prediction_record_fields(recognizer, pendigits_train):
    result = read_canvas(recognizer, canvas_strokes(pendigits_train[0]), SIZE)
    rec = prediction_record(result, latency_ms=12.345, strokes=[[[1, 2]]], model="v1", trigger="pen_up")
    assert rec["text"] == result.reading.text and rec["latency_ms"] == 12.35
    assert set(rec["digits"][0]) >= {"digit", "confidence", "top3"}
    json.dumps(rec)
    rec = prediction_record(
        CanvasResult("too_small", message="m"), latency_ms=1, strokes=[], model="v", trigger="x"
    )
    assert rec["text"] == "?" and rec["digits"] == [] and rec["status"] == "too_small"


# -- worker ---------------------------------------------------------------------------------------
def _request(seq: int) -> Request:
    return Request(seq, seq, "live", [], (10, 10), time.perf_counter())


def test_worker_latest_request_wins():
    gate = threading.Event()
    seen: list[int] = []

    def slow(req: Request) -> CanvasResult:
        seen.append(req.seq)
        gate.wait(5)
        return CanvasResult("empty")

    worker = RecognitionWorker(slow)
    try:
        worker.submit(_request(1))
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.005)
        for seq in (2, 3, 4):  # queued behind the running one: only the last survives
            worker.submit(_request(seq))
        assert worker.busy
        gate.set()
        results = [worker.results.get(timeout=5).request.seq for _ in range(2)]
        assert results == [1, 4] and seen == [1, 4]
        deadline = time.monotonic() + 5
        while worker.busy and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not worker.busy and worker.results.empty()
    finally:
        gate.set()
        worker.stop()


def test_worker_survives_a_failing_recognition():
    calls = []

    def flaky(req: Request) -> CanvasResult:
        calls.append(req.seq)
        if req.seq == 1:
            raise ValueError("boom")
        return CanvasResult("empty")

    worker = RecognitionWorker(flaky)
    try:
        worker.submit(_request(1))
        r1 = worker.results.get(timeout=5)
        worker.submit(_request(2))
        r2 = worker.results.get(timeout=5)
        assert r1.error and "boom" in r1.error and r1.outcome is None
        assert r2.error is None and r2.outcome.status == "empty"
    finally:
        worker.stop()
