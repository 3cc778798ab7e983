"""The arm64 check's comparison rules: one backend's x86-64 and arm64 runs → (problems, differences).

What was measured (README, "arm64"; every layer's int8 output, `check.py --layers 600`, and the
check's 97 digits; ai-edge-litert 2.3.0, tflite-runtime 2.14.0), hence RULES:
- `litert-ref` (LiteRT's reference kernels): every layer identical on both machines, so any int8
  difference on the same input fails.
- `litert` (the default: XNNPACK runs the convolutions and the dense layer, LiteRT's builtin
  kernel the int8 SOFTMAX after them): the logits identical, the softmax's int8 output 1 step
  apart on some digits (13 of 600; its arm64 kernel is other code). So the logits must be
  identical, the scores may differ by 1 step, each difference reported.
- `tflite-runtime` 2.14: scores identical on all 697 digits, but its dense layer's logits 1 step
  apart on 14 of the 600 (its arm64 kernel), which the softmax absorbed there and need not
  always: logits and scores may differ by 1 step, each difference reported.
- A photo's prepared 28x28 input (not the pen's): OpenCV's float32 `resize` differs in the last
  bit, and its uint8 INTER_LINEAR `resize` by 1, between the two machines; after quantization the
  int8 input differs by up to 2 steps in a few pixels. Bounded by MAX_INPUT_STEPS and reported;
  the interpreter is still proven on those digits, given the x86-64 input (answers.py `stage`).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np


class Rule(NamedTuple):
    logits: int  # int8 steps the logits may differ by on the same input
    scores: int  # int8 steps the scores (the model's output) may differ by on the same input
    why: str  # the label of a difference within these bounds


RULES = {
    "litert-ref": Rule(0, 0, "none: exact"),
    "litert": Rule(0, 1, "inherent (LiteRT's int8 softmax on arm64)"),
    "tflite-runtime": Rule(1, 1, "inherent (tflite-runtime's dense layer on arm64)"),
}
#: Backends whose int8 outputs are proven identical on arm64 and x86-64 (any difference fails).
EXACT = frozenset(name for name, rule in RULES.items() if rule[:2] == (0, 0))
MAX_INPUT_STEPS = 2  # a photo's prepared input (OpenCV), int8 steps
MAX_OTHER_INPUT_STEPS = 3  # scores of a photo digit whose prepared input differs
MAX_BOX_PX = 2

PHOTO = "inherent (photo preparation, OpenCV resize)"


def _max_diff(a, b) -> int:
    a, b = np.asarray(a), np.asarray(b)
    return int(np.abs(a - b).max()) if a.shape == b.shape else 10**6


def _where(a, b, limit: int = 6) -> str:
    """Every differing position as [i] x86-64/arm64 (the first `limit`, then a count)."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if a.shape != b.shape:
        return f"shapes {a.shape} / {b.shape}"
    idx = np.flatnonzero(a != b)
    shown = ", ".join(f"[{i}] {a[i]}/{b[i]}" for i in idx[:limit])
    return shown + (f" (+{len(idx) - limit} more)" if len(idx) > limit else "")


def _scores(where: str, a, b, rule: Rule, problems: list, diffs: list, what: str = "scores") -> None:
    """Scores (or logits) of the same int8 input: equal, within the rule (reported), or a problem."""
    d = _max_diff(a, b)
    if not d:
        return
    line = f"{where}: int8 {what} x86-64/arm64 {_where(a, b)}"
    (diffs.append(f"{rule.why}: {line}") if d <= getattr(rule, what) else problems.append(line))


def compare_stage(x: dict, y: dict, names: list[str], rule: Rule) -> tuple[list[str], list[str]]:
    """The interpreter alone, both machines given the same int8 batch: logits and scores within
    the backend's rule."""
    problems: list[str] = []
    diffs: list[str] = []
    sx, sy = x["stage"], y["stage"]
    if sx["inputs_sha256"] != sy["inputs_sha256"]:
        return ["interpreter stage: the two machines were not given the same int8 inputs"], []
    rows = zip(names, sx["logits_int8"], sy["logits_int8"], sx["scores_int8"], sy["scores_int8"], strict=True)
    for name, la, lb, pa, pb in rows:
        _scores(f"interpreter stage, {name}", la, lb, rule, problems, diffs, "logits")
        _scores(f"interpreter stage, {name}", pa, pb, rule, problems, diffs)
    return problems, diffs


def compare_answers(x: dict, y: dict, backend: str) -> tuple[list[str], list[str]]:
    """answers.py on x86-64 (x) and arm64 (y) → (problems, differences within the bounds)."""
    problems: list[str] = []
    diffs: list[str] = []
    rule = RULES[backend]
    if y["machine"] != "aarch64":
        problems.append(f"the emulated run reports machine {y['machine']!r}, not aarch64")
    if x["model"] != y["model"]:
        problems.append(f"model differs: {_short(x['model'])} / {_short(y['model'])}")
    sx, sy = x["selftest"], y["selftest"]
    if (sx["accuracy"], sx["digits"]) != (sy["accuracy"], sy["digits"]):
        problems.append(
            f"self-test differs: {sx['accuracy']} {sx['digits']} / {sy['accuracy']} {sy['digits']}"
        )
    names = [f"self-test #{i} ({d})" for i, d in enumerate(sx["digits"])]
    for i, (a, b) in enumerate(zip(sx["scores_int8"], sy["scores_int8"], strict=True)):
        _scores(f"self-test #{i} (device)", a, b, rule, problems, diffs)
    for a, b in zip(x["inputs"], y["inputs"], strict=True):
        labels_a, labels_b = [d["digit"] for d in a["digits"]], [d["digit"] for d in b["digits"]]
        names += [f"{a['id']} digit {k} ({d})" for k, d in enumerate(labels_a)]
        if (a["id"], a["text"], labels_a) != (b["id"], b["text"], labels_b):
            problems.append(f"{a['id']}: x86-64 reads {a['text']!r}, arm64 {b['text']!r}")
            continue
        for k, (da, db) in enumerate(zip(a["digits"], b["digits"], strict=True)):
            where = f"{a['id']} digit {k} ({da['digit']})"
            if da["input_int8"] == db["input_int8"]:
                _scores(f"{where} (device)", da["scores_int8"], db["scores_int8"], rule, problems, diffs)
                continue
            ia, ib = np.array(da["input_int8"]), np.array(db["input_int8"])
            line = (
                f"{where}: prepared input differs in {int((ia != ib).sum())} of 784 pixels by up to "
                f"{_max_diff(ia, ib)} steps; int8 scores x86-64/arm64 "
                f"{_where(da['scores_int8'], db['scores_int8']) or 'the same'}"
            )
            bad = a["kind"] == "strokes" or _max_diff(ia, ib) > MAX_INPUT_STEPS
            bad = bad or _max_diff(da["scores_int8"], db["scores_int8"]) > MAX_OTHER_INPUT_STEPS
            (problems.append(line) if bad else diffs.append(f"{PHOTO}: {line}"))
    p, d = compare_stage(x, y, names, rule)
    return problems + p, diffs + d


def _fields(a, b, at: str = "") -> list[str]:
    """Every field of two JSON answers that differs, as `path x86-64/arm64`."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [line for k in sorted(set(a) | set(b)) for line in _fields(a.get(k), b.get(k), f"{at}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and at.endswith("digits"):
        pairs = enumerate(zip(a, b, strict=True))
        return [line for i, (p, q) in pairs for line in _fields(p, q, f"{at}[{i}]")]
    return [] if a == b else [f"{at.lstrip('.')} {json.dumps(a)}/{json.dumps(b)}"]


def compare_cli(step: str, x: str, y: str, steps: int, label: str) -> tuple[list[str], list[str]]:
    """`digitkiosk predict|strokes --json` lines: the same texts and digits; each answer that is
    not identical (latency aside) is reported with every field that differs. With `steps` 0 (an
    exact backend, pen input) any difference fails; otherwise confidences may differ by `steps`
    int8 steps and boxes by MAX_BOX_PX (other fields, such as the top 3, follow the scores)."""
    problems: list[str] = []
    diffs: list[str] = []
    ra, rb = [json.loads(line) for line in x.splitlines()], [json.loads(line) for line in y.splitlines()]
    if len(ra) != len(rb):
        return [f"digitkiosk {step}: {len(ra)} answers on x86-64, {len(rb)} on arm64"], []
    for a, b in zip(ra, rb, strict=True):
        a.pop("latency_ms", None), b.pop("latency_ms", None)
        if a == b:
            continue
        da, db = a.get("digits", [a]), b.get("digits", [b])
        what = f"digitkiosk {step} --json: {a.get('path', a.get('id'))}: x86-64/arm64 "
        line = what + "; ".join(_fields(a, b))
        bad = steps == 0 or (a.get("text"), a.get("error"), [d.get("digit") for d in da]) != (
            b.get("text"),
            b.get("error"),
            [d.get("digit") for d in db],
        )
        for p, q in zip(da, db, strict=not bad):
            bad |= abs(p.get("confidence", 0) - q.get("confidence", 0)) > steps / 256 + 1e-4
            bad |= "box" in p and _max_diff(p["box"], q.get("box")) > MAX_BOX_PX
        (problems.append(line) if bad else diffs.append(f"{label}: {line}"))
    return problems, diffs


def compare(native: dict, arm: dict, backend: str) -> tuple[list[str], list[str]]:
    """Every difference between the native and the arm64 runs: (problems, differences reported)."""
    problems: list[str] = []
    for step, a in arm.items():
        for side, r in (("x86-64", native.get(step, {"rc": 0})), ("arm64", a)):
            if r["rc"] != 0:
                tail = " | ".join(r["stderr"].strip().splitlines()[-3:])
                problems.append(f"{step} on {side}: {describe_exit(r['rc'])}: {tail}")
    if problems:
        return problems, []
    x, y = json.loads(native["answers"]["stdout"]), json.loads(arm["answers"]["stdout"])
    problems, diffs = compare_answers(x, y, backend)
    # Pen digits are prepared identically, so their confidences follow the interpreter's rule;
    # photos' prepared inputs may differ (PHOTO), so theirs only within those bounds.
    rule = RULES[backend]
    photo = PHOTO if backend in EXACT else f"{PHOTO} or {rule.why}"
    bounds = {"strokes": (rule.scores, rule.why), "predict": (MAX_OTHER_INPUT_STEPS, photo)}
    for step, (steps, label) in bounds.items():
        if step in arm:
            p, d = compare_cli(step, native[step]["stdout"], arm[step]["stdout"], steps, label)
            problems += p
            diffs += d
    if "bench" in arm:
        bench = json.loads(arm["bench"]["stdout"])
        for key in (
            "cold_start",
            "inference_one_digit_1_thread",
            "strokes_to_prediction",
            "image_640x480_to_digits",
        ):
            if not bench.get(key):
                problems.append(f"digitkiosk bench on arm64 gave no {key}")
    return problems, diffs


def describe_exit(rc: int) -> str:
    import signal

    if rc < 0 or rc > 128:
        sig = -rc if rc < 0 else rc - 128
        try:
            return f"killed by {signal.Signals(sig).name} (signal {sig})"
        except ValueError:
            return f"exit status {rc}"
    return f"exit status {rc}"


def _short(v) -> str:
    s = json.dumps(v)
    return s if len(s) < 200 else s[:197] + "..."
