"""The arm64 check's comparison rules, without emulation: what fails and what is only reported."""

from __future__ import annotations

import copy
import json

import compare  # tests/arm64/compare.py (pytest puts this folder on sys.path)
import pytest

LOGITS = [0] * 7 + [90, 0, 0]  # a "7"
PROBS = [0.0065] * 7 + [0.9415, 0.0065, 0.0065]


def _answers() -> dict:
    digit = {"digit": "7", "output_int8": list(LOGITS), "probs": list(PROBS), "input_int8": [0] * 784}
    return {
        "machine": "x86_64",
        "model": {"name": "digitnet", "version": "1"},
        "selftest": {"accuracy": 1.0, "digits": ["7"], "output_int8": [list(LOGITS)], "probs": [list(PROBS)]},
        "inputs": [
            {"kind": "page", "id": "a.png", "text": "7", "digits": [copy.deepcopy(digit)]},
            {"kind": "strokes", "id": "pen-1", "text": "7", "digits": [copy.deepcopy(digit)]},
        ],
        # the interpreter alone: the self-test digit, then the two prepared digits
        "stage": {
            "inputs_sha256": "abc",
            "logits_int8": [list(LOGITS) for _ in range(3)],
            "probs": [list(PROBS) for _ in range(3)],
        },
    }


def _arm(x: dict) -> dict:
    y = copy.deepcopy(x)
    y["machine"] = "aarch64"
    return y


def test_identical_answers_pass():
    x = _answers()
    assert compare.compare_answers(x, _arm(x)) == []


def test_every_backend_is_demanded_exact():
    assert {"litert", "litert-ref", "tflite-runtime"} == compare.EXACT


def test_probabilities_must_be_bit_identical():
    x = _answers()
    y = _arm(x)
    y["stage"]["probs"][2][7] = 0.9415 + 2**-40  # same logits, the softmax a hair apart
    y["inputs"][1]["digits"][0]["probs"][7] = 0.9416  # the pen digit as the device read it
    problems = compare.compare_answers(x, y)
    assert len(problems) == 2
    assert problems[0].startswith(
        "pen-1 digit 0 (7) (device): probabilities x86-64/arm64 differ by up to 0.0001"
    )
    assert problems[1].startswith(
        "interpreter stage, pen-1 digit 0 (7): probabilities x86-64/arm64 differ by up to 9.09e-13"
    )


def test_one_logit_step_fails_and_is_printed_with_its_position():
    x = _answers()
    z = _arm(x)
    z["stage"]["logits_int8"][1][7] = 91
    z["selftest"]["output_int8"][0][0] = -1
    assert compare.compare_answers(x, z) == [
        "self-test #0 (device): int8 logits x86-64/arm64 [0] 0/-1",
        "interpreter stage, a.png digit 0 (7): int8 logits x86-64/arm64 [7] 90/91",
    ]


def test_the_interpreter_stage_needs_the_same_inputs_on_both_machines():
    x = _answers()
    y = _arm(x)
    y["stage"]["inputs_sha256"] = "def"
    assert compare.compare_answers(x, y) == [
        "interpreter stage: the two machines were not given the same int8 inputs"
    ]


@pytest.mark.parametrize("which", [0, 1])  # a photo, a pen digit
def test_any_difference_in_a_prepared_input_fails(which: int):
    x = _answers()
    y = _arm(x)
    y["inputs"][which]["digits"][0]["input_int8"][5] = 1
    problems = compare.compare_answers(x, y)
    assert len(problems) == 1
    assert "prepared input differs in 1 of 784 pixels by up to 1 steps: [5] 0/1" in problems[0]


def test_a_different_digit_fails():
    x = _answers()
    y = _arm(x)
    y["inputs"][0]["text"] = "1"
    assert any("reads '7', arm64 '1'" in p for p in compare.compare_answers(x, y))


def test_cli_answers_must_be_identical_but_their_latency():
    line = {"path": "a.png", "text": "7", "digits": [{"digit": "7", "confidence": 0.9, "box": [1, 2, 3, 4]}]}
    x = json.dumps(line | {"latency_ms": 1.0})
    assert compare.compare_cli("predict", x, json.dumps(line | {"latency_ms": 9.0})) == []
    near = json.loads(json.dumps(line))
    near["digits"][0]["confidence"] = 0.9001
    assert compare.compare_cli("predict", x, json.dumps(near)) == [
        "digitkiosk predict --json: a.png: x86-64/arm64 digits[0].confidence 0.9/0.9001"
    ]
    moved = json.loads(json.dumps(line))
    moved["digits"][0]["box"] = [1, 2, 3, 5]
    assert compare.compare_cli("predict", x, json.dumps(moved)) == [
        "digitkiosk predict --json: a.png: x86-64/arm64 digits[0].box [1, 2, 3, 4]/[1, 2, 3, 5]"
    ]
    assert compare.compare_cli("predict", x, "") == ["digitkiosk predict: 1 answers on x86-64, 0 on arm64"]


def test_any_field_of_a_cli_answer_fails():
    """E.g. the top 3's order among equal scores (numpy's default sort orders ties differently on
    x86-64 and arm64; the device sorts stably since the check found it)."""
    line = {"id": "pen-1", "text": "4", "confidence": 0.8984, "top3": [[4, 0.8984], [9, 0.0156], [1, 0.0117]]}
    tie = json.loads(json.dumps(line))
    tie["top3"][2][0] = 7
    assert compare.compare_cli("strokes", json.dumps(line), json.dumps(tie)) == [
        "digitkiosk strokes --json: pen-1: x86-64/arm64 top3 "
        + ("[[4, 0.8984], [9, 0.0156], [1, 0.0117]]/[[4, 0.8984], [9, 0.0156], [7, 0.0117]]")
    ]


def test_the_device_orders_equal_scores_the_same_way_on_every_processor():
    import numpy as np
    from digitkiosk.device.readings import DigitReading

    probs = np.array(
        [0.0117, 0.0117, 0.0117, 0.0117, 0.8984, 0.0117, 0.0117, 0.0117, 0.0039, 0.0156], np.float32
    )
    reading = DigitReading.from_probs(probs, 0.5, np.zeros((28, 28), np.float32))
    assert [c for c, _ in reading.top3] == [4, 9, 0]  # ties in class order, not the sort's
