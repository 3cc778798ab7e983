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


@pytest.mark.parametrize("backend", ["litert", "litert-ref", "tflite-runtime"])
def test_identical_answers_pass_without_differences(backend: str):
    x = _answers()
    assert compare.compare_answers(x, _arm(x), backend) == ([], [])


def test_the_default_backend_is_demanded_exact():
    assert {"litert", "litert-ref"} == compare.EXACT


@pytest.mark.parametrize("backend", ["litert", "litert-ref", "tflite-runtime"])
def test_probabilities_must_be_bit_identical_where_the_logits_are(backend: str):
    x = _answers()
    y = _arm(x)
    y["stage"]["probs"][2][7] = 0.9415 + 2**-40  # same logits, the softmax a hair apart
    y["inputs"][1]["digits"][0]["probs"][7] = 0.9416  # the pen digit as the device read it
    problems, diffs = compare.compare_answers(x, y, backend)
    assert diffs == [] and len(problems) == 2
    assert any(
        p.startswith("interpreter stage, pen-1 digit 0 (7): probabilities x86-64/arm64") for p in problems
    )


def test_logits_must_be_identical_for_litert_and_may_differ_by_one_step_for_tflite_runtime():
    x = _answers()
    z = _arm(x)
    z["stage"]["logits_int8"][1][7] = 91  # XNNPACK's layers must agree exactly
    z["stage"]["probs"][1][7] = 0.9433  # and the probabilities follow
    problems, _ = compare.compare_answers(x, z, "litert")
    assert problems[0] == "interpreter stage, a.png digit 0 (7): int8 logits x86-64/arm64 [7] 90/91"
    assert len(problems) == 2  # the probabilities too
    problems, diffs = compare.compare_answers(x, z, "tflite-runtime")  # its dense layer: 1 step
    why = compare.RULES["tflite-runtime"].why
    assert (
        problems == []
        and diffs[0] == f"{why}: interpreter stage, a.png digit 0 (7): int8 logits x86-64/arm64 [7] 90/91"
    )
    assert diffs[1].startswith(
        f"{why}: interpreter stage, a.png digit 0 (7): probabilities x86-64/arm64 differ by up to 0.0018"
    )
    z["stage"]["logits_int8"][1][7] = 92
    assert compare.compare_answers(x, z, "tflite-runtime")[0]
    w = _arm(x)
    w["stage"]["logits_int8"][1][7] = 91
    w["stage"]["probs"][1][7] = 0.9  # further than a 1-step logit moves a probability
    assert compare.compare_answers(x, w, "tflite-runtime")[0]


def test_the_interpreter_stage_needs_the_same_inputs_on_both_machines():
    x = _answers()
    y = _arm(x)
    y["stage"]["inputs_sha256"] = "def"
    assert compare.compare_answers(x, y, "litert-ref")[0] == [
        "interpreter stage: the two machines were not given the same int8 inputs"
    ]


@pytest.mark.parametrize("backend", ["litert", "litert-ref", "tflite-runtime"])
@pytest.mark.parametrize("which", [0, 1])  # a photo, a pen digit
def test_any_difference_in_a_prepared_input_fails(backend: str, which: int):
    x = _answers()
    y = _arm(x)
    y["inputs"][which]["digits"][0]["input_int8"][5] = 1
    problems, diffs = compare.compare_answers(x, y, backend)
    assert diffs == [] and len(problems) == 1
    assert "prepared input differs in 1 of 784 pixels by up to 1 steps: [5] 0/1" in problems[0]


def test_a_different_digit_fails():
    x = _answers()
    y = _arm(x)
    y["inputs"][0]["text"] = "1"
    problems, _ = compare.compare_answers(x, y, "litert")
    assert any("reads '7', arm64 '1'" in p for p in problems)


def test_cli_answers_compare_digits_exactly_and_confidence_within_the_given_bound():
    line = {"path": "a.png", "text": "7", "digits": [{"digit": "7", "confidence": 0.9, "box": [1, 2, 3, 4]}]}
    near = json.loads(json.dumps(line))
    near["digits"][0]["confidence"] = 0.905
    far = json.loads(json.dumps(line))
    far["digits"][0]["digit"], far["text"] = "?", "?"
    moved = json.loads(json.dumps(line))
    moved["digits"][0]["box"] = [1, 2, 3, 5]
    x = json.dumps(line | {"latency_ms": 1.0})
    assert compare.compare_cli("predict", x, json.dumps(line | {"latency_ms": 9.0}), 0, "L") == ([], [])
    problems, diffs = compare.compare_cli("predict", x, json.dumps(near), 0.01, "L")
    assert problems == []
    assert diffs == ["L: digitkiosk predict --json: a.png: x86-64/arm64 digits[0].confidence 0.9/0.905"]
    assert compare.compare_cli("predict", x, json.dumps(near), 0, "L")[0]  # an exact backend
    assert compare.compare_cli("predict", x, json.dumps(far), 0.01, "L")[0]
    assert compare.compare_cli("predict", x, json.dumps(moved), 0.01, "L")[0]  # boxes: exact


def test_an_exact_backend_fails_on_any_field_of_a_cli_answer():
    """E.g. the top 3's order among equal scores (numpy's default sort orders ties differently on
    x86-64 and arm64; the device sorts stably since the check found it)."""
    line = {"id": "pen-1", "text": "4", "confidence": 0.8984, "top3": [[4, 0.8984], [9, 0.0156], [1, 0.0117]]}
    tie = json.loads(json.dumps(line))
    tie["top3"][2][0] = 7
    problems, _ = compare.compare_cli("strokes", json.dumps(line), json.dumps(tie), 0, "L")
    assert problems == [
        "digitkiosk strokes --json: pen-1: x86-64/arm64 top3 "
        + ("[[4, 0.8984], [9, 0.0156], [1, 0.0117]]/[[4, 0.8984], [9, 0.0156], [7, 0.0117]]")
    ]
    assert compare.compare_cli("strokes", json.dumps(line), json.dumps(tie), 0.01, "L")[0] == []


def test_the_device_orders_equal_scores_the_same_way_on_every_processor():
    import numpy as np
    from digitkiosk.device.recognizer import DigitReading

    probs = np.array(
        [0.0117, 0.0117, 0.0117, 0.0117, 0.8984, 0.0117, 0.0117, 0.0117, 0.0039, 0.0156], np.float32
    )
    reading = DigitReading.from_probs(probs, 0.5, np.zeros((28, 28), np.float32))
    assert [c for c, _ in reading.top3] == [4, 9, 0]  # ties in class order, not the sort's
