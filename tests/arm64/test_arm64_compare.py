"""The arm64 check's comparison rules, without emulation: what fails and what is only reported."""

from __future__ import annotations

import copy
import json

import check  # tests/arm64/check.py (pytest puts this folder on sys.path)


def _answers() -> dict:
    digit = {
        "digit": "7",
        "scores_int8": [-128] * 7 + [126, -128, -128],
        "scores_int8_without_xnnpack": [-128] * 7 + [126, -128, -128],
        "input_int8": [0] * 784,
    }
    return {
        "machine": "x86_64",
        "model": {"name": "digitnet", "version": "1"},
        "selftest": {
            "accuracy": 1.0,
            "digits": ["7"],
            "scores_int8": [digit["scores_int8"]],
            "scores_int8_without_xnnpack": [digit["scores_int8"]],
        },
        "inputs": [
            {"kind": "page", "id": "a.png", "text": "7", "digits": [copy.deepcopy(digit)]},
            {"kind": "strokes", "id": "pen-1", "text": "7", "digits": [copy.deepcopy(digit)]},
        ],
    }


def _arm(x: dict) -> dict:
    y = copy.deepcopy(x)
    y["machine"] = "aarch64"
    return y


def test_identical_answers_pass_without_notes():
    x = _answers()
    assert check.compare_answers(x, _arm(x)) == ([], [])


def test_small_int8_differences_are_reported_not_failed():
    x = _answers()
    y = _arm(x)
    y["inputs"][0]["digits"][0]["input_int8"][5] = 2  # a photo's input, 2 steps apart
    y["inputs"][1]["digits"][0]["scores_int8"][7] = 125  # same input, 1 step apart
    problems, notes = check.compare_answers(x, y)
    assert problems == []
    assert any("prepared input differs" in n for n in notes)
    assert any("differ by up to 1" in n for n in notes)


def test_a_different_digit_or_a_large_difference_fails():
    x = _answers()
    y = _arm(x)
    y["inputs"][0]["text"] = "1"
    y["inputs"][1]["digits"][0]["scores_int8"][7] = 100
    problems, _ = check.compare_answers(x, y)
    assert any("reads '7', arm64 '1'" in p for p in problems)
    assert any("pen-1: int8 scores differ by 26" in p for p in problems)
    z = _arm(x)
    z["inputs"][1]["digits"][0]["input_int8"][0] = 1  # a pen digit's input must be exact
    assert check.compare_answers(x, z)[0]


def test_cli_answers_compare_digits_exactly_and_confidence_within_bounds():
    line = {"path": "a.png", "text": "7", "digits": [{"digit": "7", "confidence": 0.9, "box": [1, 2, 3, 4]}]}
    near = json.loads(json.dumps(line))
    near["digits"][0]["confidence"] = 0.9 + 2 / 256
    far = json.loads(json.dumps(line))
    far["digits"][0]["digit"], far["text"] = "?", "?"
    x = json.dumps(line | {"latency_ms": 1.0})
    assert check.compare_cli("predict", x, json.dumps(line | {"latency_ms": 9.0})) == ([], [])
    problems, notes = check.compare_cli("predict", x, json.dumps(near))
    assert problems == [] and notes
    assert check.compare_cli("predict", x, json.dumps(far))[0]
