"""The arm64 check's comparison rules, without emulation: what fails and what is only reported."""

from __future__ import annotations

import copy
import json

import compare  # tests/arm64/compare.py (pytest puts this folder on sys.path)
import pytest

SEVEN = [-128] * 7 + [126, -128, -128]


def _answers() -> dict:
    digit = {"digit": "7", "scores_int8": list(SEVEN), "input_int8": [0] * 784}
    return {
        "machine": "x86_64",
        "model": {"name": "digitnet", "version": "1"},
        "selftest": {"accuracy": 1.0, "digits": ["7"], "scores_int8": [list(SEVEN)]},
        "inputs": [
            {"kind": "page", "id": "a.png", "text": "7", "digits": [copy.deepcopy(digit)]},
            {"kind": "strokes", "id": "pen-1", "text": "7", "digits": [copy.deepcopy(digit)]},
        ],
        # the interpreter alone: the self-test digit, then the two prepared digits
        "stage": {
            "inputs_sha256": "abc",
            "scores_int8": [list(SEVEN) for _ in range(3)],
            "logits_int8": [[0] * 7 + [90, 0, 0] for _ in range(3)],
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


def test_one_softmax_step_is_reported_for_litert_and_fails_the_exact_backend():
    x = _answers()
    y = _arm(x)
    y["stage"]["scores_int8"][2][7] = 125  # the interpreter alone, same logits, 1 step apart
    y["inputs"][1]["digits"][0]["scores_int8"][7] = 125  # the pen digit as the device reads it
    problems, diffs = compare.compare_answers(x, y, "litert")
    assert problems == []
    assert len(diffs) == 2 and all(d.startswith(compare.RULES["litert"].why) for d in diffs)
    stage = "interpreter stage, pen-1 digit 0 (7): int8 scores x86-64/arm64 [7] 126/125"
    assert any(stage in d for d in diffs)
    assert {"litert-ref"} == compare.EXACT
    problems, diffs = compare.compare_answers(x, y, "litert-ref")
    assert len(problems) == 2 and diffs == []


def test_logits_must_be_identical_for_litert_and_may_differ_by_one_step_for_tflite_runtime():
    x = _answers()
    y = _arm(x)
    y["stage"]["scores_int8"][0][7] = 124  # 2 softmax steps
    assert any("self-test #0 (7)" in p for p in compare.compare_answers(x, y, "litert")[0])
    z = _arm(x)
    z["stage"]["logits_int8"][1][7] = 91  # XNNPACK's layers must agree exactly
    problems, _ = compare.compare_answers(x, z, "litert")
    assert problems == ["interpreter stage, a.png digit 0 (7): int8 logits x86-64/arm64 [7] 90/91"]
    problems, diffs = compare.compare_answers(x, z, "tflite-runtime")  # its dense layer: 1 step
    assert problems == [] and diffs == [
        f"{compare.RULES['tflite-runtime'].why}: interpreter stage, a.png digit 0 (7): "
        "int8 logits x86-64/arm64 [7] 90/91"
    ]
    z["stage"]["logits_int8"][1][7] = 92
    assert compare.compare_answers(x, z, "tflite-runtime")[0]


def test_the_interpreter_stage_needs_the_same_inputs_on_both_machines():
    x = _answers()
    y = _arm(x)
    y["stage"]["inputs_sha256"] = "def"
    assert compare.compare_answers(x, y, "litert-ref")[0] == [
        "interpreter stage: the two machines were not given the same int8 inputs"
    ]


def test_a_photo_input_within_bounds_is_reported_a_pen_input_never():
    x = _answers()
    y = _arm(x)
    y["inputs"][0]["digits"][0]["input_int8"][5] = 2  # a photo's prepared input, 2 steps apart
    y["inputs"][0]["digits"][0]["scores_int8"][7] = 124  # and its scores, on that other input
    problems, diffs = compare.compare_answers(x, y, "litert-ref")
    assert problems == []
    assert diffs == [
        f"{compare.PHOTO}: a.png digit 0 (7): prepared input differs in 1 of 784 pixels by up to 2 steps; "
        "int8 scores x86-64/arm64 [7] 126/124"
    ]
    y["inputs"][0]["digits"][0]["input_int8"][5] = 3
    assert compare.compare_answers(x, y, "litert-ref")[0]
    z = _arm(x)
    z["inputs"][1]["digits"][0]["input_int8"][0] = 1  # a pen digit's input must be exact
    assert compare.compare_answers(x, z, "litert")[0]


def test_a_different_digit_fails():
    x = _answers()
    y = _arm(x)
    y["inputs"][0]["text"] = "1"
    problems, _ = compare.compare_answers(x, y, "litert")
    assert any("reads '7', arm64 '1'" in p for p in problems)


def test_cli_answers_compare_digits_exactly_and_confidence_within_the_given_steps():
    line = {"path": "a.png", "text": "7", "digits": [{"digit": "7", "confidence": 0.9, "box": [1, 2, 3, 4]}]}
    near = json.loads(json.dumps(line))
    near["digits"][0]["confidence"] = round(0.9 + 1 / 256, 4)
    far = json.loads(json.dumps(line))
    far["digits"][0]["digit"], far["text"] = "?", "?"
    x = json.dumps(line | {"latency_ms": 1.0})
    assert compare.compare_cli("predict", x, json.dumps(line | {"latency_ms": 9.0}), 0, "L") == ([], [])
    problems, diffs = compare.compare_cli("predict", x, json.dumps(near), 1, "L")
    assert problems == []
    assert diffs == ["L: digitkiosk predict --json: a.png: x86-64/arm64 digits[0].confidence 0.9/0.9039"]
    assert compare.compare_cli("predict", x, json.dumps(near), 0, "L")[0]  # an exact backend
    assert compare.compare_cli("predict", x, json.dumps(far), 3, "L")[0]


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
    assert compare.compare_cli("strokes", json.dumps(line), json.dumps(tie), 1, "L")[0] == []


def test_the_device_orders_equal_scores_the_same_way_on_every_processor():
    import numpy as np
    from digitkiosk.device.recognizer import DigitReading

    probs = np.array(
        [0.0117, 0.0117, 0.0117, 0.0117, 0.8984, 0.0117, 0.0117, 0.0117, 0.0039, 0.0156], np.float32
    )
    reading = DigitReading.from_probs(probs, 0.5, np.zeros((28, 28), np.float32))
    assert [c for c, _ in reading.top3] == [4, 9, 0]  # ties in class order, not the sort's
