"""The camera's voting filter (pipeline.StabilityFilter) on made-up per-frame results: no model,
no video, just the readings a noisy camera produces frame after frame."""

from __future__ import annotations

import numpy as np
from digitkiosk.device.camera.pipeline import STABLE_FRAMES, FrameResult, StabilityFilter
from digitkiosk.device.readings import DigitReading, Reading
from digitkiosk.device.segment import Segmentation

THRESHOLD = 0.6  # the reject threshold the frames were read with


def _digit(cls: int, conf: float, x: float) -> DigitReading:
    probs = np.full(10, (1.0 - conf) / 9, np.float32)
    probs[cls] = conf
    top3 = [(int(c), float(probs[c])) for c in np.argsort(probs)[::-1][:3]]
    return DigitReading(
        cls if conf >= THRESHOLD else None,
        conf,
        top3,
        probs,
        np.zeros((28, 28), np.float32),
        [x, 100.0, 30.0, 50.0],
    )


def _frame(index: int, text: str, conf: float | list[float] = 0.97, x0: float = 50.0) -> FrameResult:
    """A frame read as `text` (digits, " " between numbers), every digit with `conf`."""
    classes = [int(c) for c in text if c.isdigit()]
    confs = conf if isinstance(conf, list) else [conf] * len(classes)
    seps, x, digits = [], x0, []
    for i, ch in enumerate(text):
        if ch == " ":
            x += 30.0
            continue
        if digits and text[i - 1] != " ":
            seps.append("")
        elif digits:
            seps.append(" ")
        digits.append(_digit(int(ch), confs[len(digits)], x))
        x += 40.0
    assert len(digits) == len(classes)
    reading = Reading(digits, 1.0, separators=seps)
    return FrameResult(
        index, Segmentation([], []), reading, "ok" if reading.sure else "unsure", 1.0, THRESHOLD
    )


def _empty(index: int, status: str = "no digits in view") -> FrameResult:
    return FrameResult(index, Segmentation([], []), None, status, 1.0, THRESHOLD)


def _reports(results: list[FrameResult], **kwargs) -> list[str]:
    stability = StabilityFilter(**kwargs)
    out = []
    for f in results:
        stable = stability.update(f)
        if stable is not None:
            out.append(stable.text if stable.result.reading is not None else f"<{stable.result.status}>")
    return out


def test_flickering_digit_is_reported_once_with_the_majority_class():
    # Every fourth frame reads the 7 as a 1: never five identical frames in a row, yet the
    # reading is clear.
    frames = [_frame(i, "11" if i % 4 == 3 else "17") for i in range(30)]
    reports = _reports(frames)
    assert reports == ["17"]


def test_vote_pools_probabilities_and_keeps_the_reject_rule():
    # Frames that disagree half and half are not averaged into a sure reading.
    frames = [_frame(i, "35" if i % 2 else "36") for i in range(20)]
    reports = _reports(frames)
    assert reports == ["3?"]


def test_layout_flicker_in_a_minority_of_frames_does_not_prevent_a_report():
    # Every third frame the segmentation merges the 3 and the 4 into one mark.
    frames = [_frame(i, "12 8" if i % 3 == 2 else "12 34") for i in range(30)]
    reports = _reports(frames)
    assert reports == ["12 34"]


def test_wavering_unsure_digit_is_reported_once():
    # A digit below the threshold whose best class flips between 5 and 6: the view shows "?"
    # all along, so there is nothing new to report after the first time.
    frames = []
    for i in range(40):
        classes = "15" if (i // 3) % 2 else "16"
        frames.append(_frame(i, classes, conf=[0.97, 0.45]))
    assert _reports(frames) == ["1?"]


def test_changed_scene_is_reported_again():
    frames = [_frame(i, "12") for i in range(15)]  # a sheet
    frames += [_frame(15 + i, "57") for i in range(15)]  # another sheet, same layout
    frames += [_frame(30 + i, "3 90") for i in range(15)]  # another layout
    frames += [_empty(45 + i) for i in range(15)]  # taken away
    frames += [_frame(60 + i, "3 90") for i in range(15)]  # back again
    assert _reports(frames) == ["12", "57", "3 90", "<no digits in view>", "3 90"]


def test_same_layout_elsewhere_is_reported_even_when_unsure():
    frames = [_frame(i, "12") for i in range(15)]
    frames += [_frame(15 + i, "12", conf=[0.97, 0.4], x0=300.0) for i in range(15)]  # moved sheet
    assert _reports(frames) == ["12", "1?"]


def test_a_reading_needs_enough_frames():
    frames = [_frame(i, "42") for i in range(3)] + [_empty(3 + i) for i in range(3)]
    assert _reports(frames) == []
    assert _reports([_frame(i, "42") for i in range(3)], frames=3) == ["42"]


def test_reported_digit_is_not_overturned_by_a_narrow_majority():
    # A "6" that the last frames read as a "1" just above the threshold (blur, a shadow moving
    # in): the scene did not change, so the report stands. A clear "1" overturns it.
    frames = [_frame(i, "36") for i in range(15)]
    frames += [_frame(15 + i, "31", conf=[0.97, 0.65]) for i in range(20)]
    assert _reports(frames) == ["36"]
    frames += [_frame(35 + i, "31") for i in range(20)]
    assert _reports(frames) == ["36", "31"]


def test_unsure_digit_is_replaced_only_when_clearly_read():
    # A "?" whose averaged confidence creeps just over the threshold (0.6 here) as frames come
    # in, on a sheet that did not move: still one report. Read clearly, it is news.
    frames = [_frame(i, "31", conf=[0.97, 0.55]) for i in range(12)]
    frames += [_frame(12 + i, "31", conf=[0.97, 0.66]) for i in range(20)]
    assert _reports(frames) == ["3?"]
    frames += [_frame(32 + i, "31") for i in range(20)]
    assert _reports(frames) == ["3?", "31"]


def test_unsure_vote_waits_for_more_frames_before_it_is_reported():
    # The first frames read the second digit below the threshold, the next ones surely: one
    # report, of the settled digit, rather than "1?" first and "14" a moment later.
    frames = [_frame(i, "14", conf=[0.97, 0.5]) for i in range(5)]
    frames += [_frame(5 + i, "14") for i in range(15)]
    assert _reports(frames) == ["14"]
    # Had it stayed unsure, it is still reported once the layout has been voted on long enough.
    assert _reports([_frame(i, "14", conf=[0.97, 0.5]) for i in range(12)]) == ["1?"]
    assert _reports([_frame(i, "14", conf=[0.97, 0.5]) for i in range(8)]) == []


def test_a_number_cut_several_ways_in_turn_is_reported_once_with_the_commonest_cut():
    # Touching digits that segmentation (or the line model) reads as "34" in every other frame
    # and as one mark ("8") or three ("341") in between: a newest frame of a rarer cut must not
    # restart the count, or the scene is never reported.
    cuts = ["12 34", "12 8", "12 34", "12 341"]
    assert _reports([_frame(i, cuts[i % 4]) for i in range(40)]) == ["12 34"]


def test_two_cuts_in_turn_are_reported_once():
    # Half the frames one way, half the other: one report (of either), not none.
    reports = _reports([_frame(i, "12 34" if i % 2 else "12 8") for i in range(40)])
    assert len(reports) == 1 and reports[0] in ("12 34", "12 8")


def _reported_at(results: list[FrameResult], **kwargs) -> list[tuple[int, str]]:
    stability = StabilityFilter(**kwargs)
    return [(f.index, s.text) for f in results if (s := stability.update(f)) is not None]


def test_a_new_digit_count_on_the_same_sheet_needs_four_in_five_frames():
    # Touching "11" read as one "1" in 4 of 10 frames and as two in 6: a new count, on the sheet
    # that was reported, in a bare majority of the frames. Reported once, not "19 16", "191 16",
    # "19 16" in turn (a touching scene of the benchmark's training clips did just that).
    frames = [_frame(i, "19 16") for i in range(10)]
    frames += [_frame(10 + i, "191 16" if i % 5 < 3 else "19 16") for i in range(30)]
    assert _reports(frames) == ["19 16"]
    # Once four in five frames of the window read it so, it is news.
    frames += [_frame(40 + i, "191 16" if i % 5 else "19 16") for i in range(30)]
    assert _reports(frames) == ["19 16", "191 16"]


def test_a_digit_written_next_to_the_others_is_reported_after_eight_frames():
    frames = [_frame(i, "19 16") for i in range(10)] + [_frame(10 + i, "19 167") for i in range(15)]
    assert _reported_at(frames) == [(5, "19 16"), (17, "19 167")]  # the 8th frame of "19 167"
    # as any vote (recount clamped to `frames`): one frame sooner
    assert _reported_at(frames, recount=STABLE_FRAMES) == [(5, "19 16"), (16, "19 167")]


def test_a_new_count_that_never_reaches_four_in_five_is_reported_once_the_old_layout_is_gone():
    # The sheet now holds more digits, cut two ways in turn (3 frames in 5 one way): never four
    # in five frames alike, but no frame reads the reported layout any more.
    frames = [_frame(i, "19 16") for i in range(10)]
    frames += [_frame(10 + i, "19 167" if i % 5 < 3 else "19 1678") for i in range(20)]
    assert _reported_at(frames) == [(5, "19 16"), (19, "19 167")]  # the window's 10th frame


def test_another_sheet_with_another_count_is_reported_as_soon_as_it_has_a_majority():
    # Hardly any digit where a digit of the same class was: not the reported sheet. Voted as soon
    # as it holds a majority of the window, as without the rule for new counts on the same sheet.
    frames = [_frame(i, "19 16") for i in range(10)] + [_frame(10 + i, "305 82") for i in range(15)]
    assert _reported_at(frames) == [(5, "19 16"), (16, "305 82")]
    assert _reported_at(frames, recount=STABLE_FRAMES) == _reported_at(frames)


def test_one_digit_box_that_jumps_is_no_new_sheet():
    # A faint "3" found whole in some frames and as a fragment higher up in others: its box
    # jumps by more than half its height, the other digits stay. One report, not one per jump
    # (a separate scene of the training clips was reported three times so).
    def jumped(index: int) -> FrameResult:
        frame = _frame(index, "72 381", conf=[0.97, 0.97, 0.4, 0.97, 0.97])
        frame.reading.digits[2].box = [130.0, 60.0, 30.0, 30.0]
        return frame

    frames = [_frame(i, "72 381", conf=[0.97, 0.97, 0.4, 0.97, 0.97]) for i in range(12)]
    frames += [jumped(12 + i) for i in range(12)]
    assert _reports(frames) == ["72 ?81"]
    # All digits elsewhere: another sheet, however alike.
    frames += [_frame(24 + i, "72 381", conf=[0.97, 0.97, 0.4, 0.97, 0.97], x0=300.0) for i in range(12)]
    assert _reports(frames) == ["72 ?81", "72 ?81"]


def _spaced(frame: FrameResult, separators: list[str]) -> FrameResult:
    """The same digits, where they were, with other gaps between them."""
    assert frame.reading is not None
    reading = Reading(frame.reading.digits, 1.0, separators=separators)
    return FrameResult(frame.index, frame.segmentation, reading, frame.status, 1.0, THRESHOLD)


def test_a_space_that_comes_and_goes_is_not_news():
    # "4516" read now as one number, now as "45 16", for as long as the sheet lies there: the
    # digits stand where they stood, so one report, whichever came first.
    frames = [_frame(i, "4516") for i in range(48)]
    frames = [_spaced(f, ["", " ", ""]) if (i // 4) % 2 else f for i, f in enumerate(frames)]
    assert _reports(frames) == ["4516"]
    # Another sheet with as many digits elsewhere is news.
    frames += [_frame(48 + i, "4516", x0=400.0) for i in range(12)]
    assert _reports(frames) == ["4516", "4516"]


def test_a_restart_forgets_the_frames_before_a_drop_but_not_the_report():
    """A source that drops (`CameraLoop` restarts the vote on "reconnecting"): five frames of
    "12" seen just before the drop, not yet reported, would otherwise outvote the new view's
    first frames and be reported first, after the reconnect. A view that did not change across
    the drop is still reported once."""
    before = [_frame(i, "12") for i in range(5)]
    after = [_frame(5 + i, "345") for i in range(8)]
    assert _reports(before + after)[0] == "12"  # without a restart: the stale scene first

    stability = StabilityFilter()
    assert [stability.update(f) for f in before] == [None] * 5
    stability.restart()
    reported = [s.text for s in map(stability.update, after) if s is not None]
    assert reported == ["345"]

    stability.restart()  # the same view again after a second drop: no second report
    assert [s for s in map(stability.update, [_frame(20 + i, "345") for i in range(10)]) if s] == []


def _benchmark(name: str):
    """A script of tests/benchmarks, imported as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recorded_frames_replay_as_they_were_voted(tmp_path):
    # `bench_camera.py --record` → `replay_stability.py`: the vote on the recorded frames reports
    # what it reported on the frames themselves, so constants chosen by replay hold live.
    bench, replay = _benchmark("bench_camera"), _benchmark("replay_stability")
    frames = [_frame(i, "19 16") for i in range(10)]
    frames += [_frame(10 + i, "191 16" if i % 5 else "19 16") for i in range(15)]
    frames += [_frame(25 + i, "31", conf=[0.97, 0.5]) for i in range(12)]
    frames += [_empty(37 + i) for i in range(6)]
    frames += [_frame(43 + i, "72 381", x0=300.0) for i in range(8)]
    path = tmp_path / "clips.json.gz"
    scene = {"kind": "mnist", "truth": "19 16", "frames": [bench.frame_record(f) for f in frames]}
    bench.write_record(path, {"split": "train", "record": str(path)}, [scene])
    [(truth, loaded)] = replay.load_scenes([str(path)])
    live = replay.reports(StabilityFilter(), frames)
    assert [text for _, text in live] == ["19 16", "191 16", "3?", "72 381"]
    assert truth == "19 16" and replay.reports(StabilityFilter(), loaded) == live
    # The replay's figures: this scene reported four times, a quiet one once.
    quiet = ("45", [_frame(i, "45") for i in range(10)])
    figures = replay.replay([(truth, loaded), quiet], StabilityFilter, pairs=4, seed=0)
    assert figures["reported_more_than_once"] == 1 and figures["never_reported"] == 0
    assert figures["scene_changes"]["pairs"] == 4 and figures["scene_changes"]["never_reported"] == 0
