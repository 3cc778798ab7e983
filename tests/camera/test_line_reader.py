"""The segmentation-free field reader (device/line_reader.py): greedy CTC decoding, the line's
preparation, the bundled line model through the real interpreter on real cheque scans
(ORAND-CAR-A validation part), and its trust: a line model that is not pinned or signed is
refused, and fields are then read by segmentation, with one warning line and no traceback."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from digitkiosk.device.errors import SignatureError
from digitkiosk.device.fields import is_field
from digitkiosk.device.line_reader import (
    LINE_HEIGHT,
    LINE_WIDTH,
    default_line_model_path,
    greedy_decode,
    line_digits,
    load_line_model,
    open_line_model,
    prepare_line,
    vote_decode,
)
from digitkiosk.device.package import BUNDLED, TrustPolicy
from digitkiosk.device.recognizer import Recognizer

BLANK = 10


def _steps(classes: list[int], p: float = 0.9) -> np.ndarray:
    """Per-step probabilities putting `p` on each step's class and the rest spread evenly."""
    out = np.full((len(classes), 11), (1.0 - p) / 10, np.float32)
    out[np.arange(len(classes)), classes] = p
    return out


def _text(probs: np.ndarray) -> str:
    return "".join(str(c.digit) for c in greedy_decode(probs, BLANK))


def test_greedy_decode_merges_repeats_and_drops_blanks():
    assert _text(_steps([BLANK, 1, 1, BLANK, BLANK, 0, 0, 0, BLANK])) == "10"


def test_greedy_decode_keeps_a_digit_repeated_across_a_blank():
    assert _text(_steps([1, BLANK, 0, BLANK, 0, 0, BLANK, 0])) == "1000"


def test_greedy_decode_of_nothing():
    assert _text(_steps([BLANK] * 40)) == ""
    assert greedy_decode(np.zeros((0, 11), np.float32), BLANK) == []


def test_greedy_decode_confidence_is_the_surest_step_and_steps_are_kept():
    probs = _steps([BLANK, 7, 7, 7, BLANK])
    probs[2, 7], probs[2, BLANK] = 0.99, 0.01 / 10
    (c,) = greedy_decode(probs, BLANK)
    assert c.digit == 7 and c.steps == (1, 3)
    assert c.confidence == pytest.approx(0.99, abs=1e-6)
    assert c.probs.shape == (10,) and c.probs.sum() == pytest.approx(1.0, abs=1e-5) and c.probs.argmax() == 7


def test_greedy_decode_with_the_blank_first():
    probs = _steps([0, 3, 3, 0, 4])  # class 0 is the blank here: digits are classes 1..10
    assert [c.digit for c in greedy_decode(probs, 0)] == [2, 3]


def test_a_digit_tied_with_another_is_answered_as_decoded():
    """int8 outputs often tie two digits at a step: the reading names the decoded one."""
    probs = _steps([BLANK, 2, BLANK])
    probs[1, 2] = probs[1, 9] = 0.45
    chars = greedy_decode(probs, BLANK)
    (reading,) = line_digits(chars, np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32), 3, (40, 120), 0.0)
    assert chars[0].digit == 2 and reading.digit == 2 and reading.box[3] == 40.0


def test_members_vote_on_the_whole_string():
    """Three members read "17", "17" and "71": "17" wins, its confidence the mean of the two that
    read it, its steps those of the surer of them; averaging the steps would have mixed them."""
    a, b, c = (
        _steps([BLANK, 1, BLANK, 7, BLANK]),
        _steps([1, BLANK, 7, BLANK, BLANK], 0.7),
        _steps([7, 1, BLANK] * 1 + [BLANK, BLANK], 0.99),
    )
    chars = vote_decode(np.stack([a, b, c]), BLANK)
    assert [ch.digit for ch in chars] == [1, 7]
    assert chars[0].confidence == pytest.approx((0.9 + 0.7) / 2, abs=1e-6) and chars[0].steps == (1, 1)
    one, best = vote_decode(a, BLANK), greedy_decode(a, BLANK)  # one member, (T, C): its best path
    assert [(ch.digit, ch.steps, ch.confidence) for ch in one] == [
        (ch.digit, ch.steps, ch.confidence) for ch in best
    ]


def test_a_tie_between_strings_goes_to_the_surer_readers():
    sure, unsure = _steps([BLANK, 3, BLANK], 0.95), _steps([BLANK, 8, BLANK], 0.6)
    assert [ch.digit for ch in vote_decode(np.stack([unsure, sure]), BLANK)] == [3]
    assert [ch.digit for ch in vote_decode(np.stack([sure, unsure]), BLANK)] == [3]
    # two empty readings outvote one digit: a field most members see as empty reads as nothing
    empty = _steps([BLANK] * 3)
    assert vote_decode(np.stack([empty, sure, empty]), BLANK) == []


def test_prepare_line_shape_polarity_and_empty_fields():
    field = np.full((50, 150), 200, np.uint8)
    cv2.putText(field, "407", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 30, 3)
    line = prepare_line(field)
    assert line.shape == (LINE_HEIGHT, LINE_WIDTH) and line.dtype == np.float32
    assert line.max() == pytest.approx(1.0) and line[:, 100:].max() == 0.0  # 150x50 → 96 columns
    inverted = prepare_line(255 - field)
    assert np.abs(inverted - line).mean() < 0.02  # light ink on a dark board: the same line
    assert prepare_line(np.full((40, 120), 128, np.uint8)).max() == 0.0  # no contrast, no ink
    assert prepare_line(np.zeros((1, 1), np.uint8)).shape == (LINE_HEIGHT, LINE_WIDTH)
    assert prepare_line(np.full((20, 400, 3), 90, np.uint8)).shape == (LINE_HEIGHT, LINE_WIDTH)


def test_is_field():
    assert is_field(np.zeros((53, 155), np.uint8)) and is_field(np.zeros((53, 155, 3), np.uint8))
    assert not is_field(np.zeros((480, 640), np.uint8)) and not is_field(np.zeros((2, 300), np.uint8))


@pytest.fixture(scope="session")
def field_recognizer(loaded_model, line_model) -> Recognizer:
    return Recognizer(loaded_model, line_model)


def test_bundled_line_model_is_pinned_and_reads_nothing_on_empty_paper(line_model, tmp_path):
    assert line_model.trust == BUNDLED
    probs = line_model.probs(np.zeros((2, LINE_HEIGHT, LINE_WIDTH), np.float32))
    assert (
        probs.shape == (2, line_model.members, 40, 11)
        and line_model.members == line_model.card.data["members"]
    )
    blank = np.full((50, 150), 215, np.uint8)
    assert line_model.read(blank)[0] == []


def test_real_cheque_amounts_by_the_line_reader(field_recognizer: Recognizer, orand_scans, read_amounts):
    """The first 48 validation scans (never trained on) through `read_image` with the line model
    (the field path `predict` takes). Thresholds well below what was measured on them (see the
    README's measured table; `make measure-scans` for the whole validation part)."""
    digits, exact = read_amounts(field_recognizer, orand_scans[:48])
    assert digits >= LINE_MIN_DIGITS, digits
    assert exact >= LINE_MIN_EXACT, exact


def _line_copy(tmp_path):
    src = default_line_model_path()
    for f in (src, src.with_suffix(".json")):
        shutil.copy2(f, tmp_path / f.name)
    return tmp_path / src.name


def test_unpinned_unsigned_line_model_is_refused(tmp_path):
    copy = _line_copy(tmp_path)
    nowhere = TrustPolicy(tmp_path / "no-trust-dir")
    assert load_line_model(copy, policy=nowhere).trust == BUNDLED  # the same bytes: pinned
    card = copy.with_suffix(".json")
    data = json.loads(card.read_text())
    data["fallback_below"] = 0.0  # any edit: no longer the pinned card, and nobody signed it
    card.write_text(json.dumps(data))
    with pytest.raises(SignatureError, match="no trusted keys"):
        load_line_model(copy, policy=nowhere)


def test_refused_line_model_falls_back_to_segmentation_with_one_warning(tmp_path, caplog):
    copy = _line_copy(tmp_path)
    card = copy.with_suffix(".json")
    card.write_text(card.read_text().replace('"version"', '"note": "edited", "version"', 1))
    with caplog.at_level(logging.WARNING):
        assert open_line_model(copy, TrustPolicy(tmp_path / "no-trust-dir")) is None
    assert "line model not used, fields are read by segmentation" in caplog.text


def _predict(field: str, line_model: str, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DIGITKIOSK_LINE_MODEL": line_model}
    cmd = [sys.executable, "-m", "digitkiosk.device", "predict", "--json", field, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=120)


def test_predict_with_a_refused_line_model_answers_by_segmentation(tmp_path, orand_scans):
    """The real command in its own process: the edited line model is refused in one warning line,
    and the field gets the segmentation path's answer (the same as with the line model off)."""
    copy = _line_copy(tmp_path)
    card = copy.with_suffix(".json")
    card.write_text(card.read_text().replace('"version"', '"note": "edited", "version"', 1))
    field = str(orand_scans[0][0])
    off = _predict(field, "off")
    refused = _predict(field, str(copy), "--trust-dir", str(tmp_path / "keys"))
    assert off.returncode == 0 and _said(off) == [], off.stderr
    assert refused.returncode == 0, refused.stderr
    assert json.loads(refused.stdout)["text"] == json.loads(off.stdout)["text"]
    assert "Traceback" not in refused.stderr and len(_said(refused)) == 1, refused.stderr
    assert "line model not used, fields are read by segmentation" in refused.stderr


def _said(proc: subprocess.CompletedProcess) -> list[str]:
    """stderr's lines, less the interpreter's own notice of its CPU delegate (printed by LiteRT's
    C++ code on every load, not by digitkiosk)."""
    return [line for line in proc.stderr.splitlines() if line.strip() and "XNNPACK delegate" not in line]


# linenet 1.0.0 with digitnet 1.4.0 read the first 48 validation fields 0.944 / 40 exactly right,
# linenet 1.1.0 (8 members voting) 0.953 / 40
# (the segmentation path alone: 0.71 / 21); the whole validation part: README, Measured figures.
LINE_MIN_DIGITS = 0.88
LINE_MIN_EXACT = 34
