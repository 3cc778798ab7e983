"""The segmentation-free field reader (device/line_reader.py; its decoding: test_device_ctc.py): the line's
preparation, the bundled line model through the real interpreter on real cheque scans
(ORAND-CAR-A validation part), and its trust: a line model that is not pinned or signed is
refused, and fields are then read by segmentation, with one warning line and no traceback."""

from __future__ import annotations

import json
import logging
import os
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
    load_line_model,
    open_line_model,
    prepare_line,
)
from digitkiosk.device.package import BUNDLED, TrustPolicy
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.train.splits import is_validation_scan

from tests.model_files import copy_package, edit_card


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
        probs.shape == (2, len(line_model.job_members()), 40, 11)
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


def test_the_field_confidence_ranks_the_amounts(field_recognizer: Recognizer, orand_scans):
    """Every field's reading carries the line model's probability of the whole amount
    (`field_confidence`, 0 to 1). On the first 48 validation scans it separates the right amounts
    from the wrong: measured 26 right of the 27 read at 0.9 or more, against 40 of all 48 (and 4 of
    the 7 below 0.5). A confidence that ranked nothing would keep ~83% right at any level."""
    rows = []
    for path, amount, _ in orand_scans[:48]:
        reading = field_recognizer.read_image(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
        assert reading.field_confidence is not None and 0.0 <= reading.field_confidence <= 1.0
        assert reading.to_json()["field_confidence"] == round(reading.field_confidence, 4)
        rows.append(("".join(reading.text.split()) == amount, reading.field_confidence))
    sure = [right for right, confidence in rows if confidence >= 0.9]
    overall = sum(right for right, _ in rows) / len(rows)
    figures = (len(sure), sum(sure), overall)
    assert len(sure) >= 20 and sum(sure) / len(sure) >= max(0.92, overall + 0.05), figures


def test_the_digit_models_opinion_mends_fields_and_breaks_none(
    field_recognizer: Recognizer, loaded_model, orand_scans, tmp_path
):
    """Every validation scan read as `predict` reads it, with the bundled card's
    `segmentation_opinion_weight` (0.25) and with the same model at 0 (the members choose alone):
    measured 2 fields mended with linenet 1.1.2 ("291" read "221", "49" read "48": the digit model
    sure of the digit the members split on), 1 with 1.3.0's field members, none broken (README,
    "The digit model's opinion"). A weight that did nothing would mend none; one that outweighed
    the line model would break some."""
    assert field_recognizer.line_model.card.data["segmentation_opinion_weight"] > 0
    copy = _line_copy(tmp_path)
    edit_card(copy.with_suffix(".json"), segmentation_opinion_weight=0.0)
    alone = load_line_model(copy, policy=TrustPolicy(tmp_path / "keys", allow_unsigned=True))
    alone_reader = Recognizer(loaded_model, alone)
    mended = broken = 0
    for path, amount, _ in (s for s in orand_scans if is_validation_scan(s[0].name)):
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        right = ["".join(r.read_image(gray).text.split()) == amount for r in (field_recognizer, alone_reader)]
        mended += right[0] and not right[1]
        broken += right[1] and not right[0]
    assert mended >= 1 and broken == 0, (mended, broken)


def test_a_picture_that_is_no_field_has_no_field_confidence(field_recognizer: Recognizer, mnist_test):
    images, _ = mnist_test
    page = np.full((480, 640), 230, np.uint8)
    page[200:228, 300:328] = 230 - (images[0] * 0.8).astype(np.uint8)
    reading = field_recognizer.read_image(page)
    assert reading.field_confidence is None and "field_confidence" not in reading.to_json()


def _line_copy(tmp_path):
    """An unpinned copy's card (the same bytes until edited)."""
    return copy_package(default_line_model_path().with_suffix(".json"), tmp_path)


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
