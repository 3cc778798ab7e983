"""The arm64 check's comparison rules: one backend's x86-64 and arm64 runs → (problems, differences).

What was measured (README, "arm64"; every layer's int8 output, `check.py --layers 600`, and the
check's digits; ai-edge-litert 2.3.0, tflite-runtime 2.14.0), hence RULES:
- The models end at their int8 logits (card `output_kind: "logits"`) and the device computes the
  softmax itself, bit-identically on every processor (device/outputs.py). So wherever two runs'
  logits are the same, their probabilities must be the same, bit for bit, for every backend.
- `litert` (the default: XNNPACK runs every op of the logits models) and `litert-ref` (LiteRT's
  reference kernels): every layer identical on both machines, so any difference fails: prepared
  input, logits, probabilities, any field of a `predict`/`strokes --json` answer.
  (Before, LiteRT's own int8 SOFTMAX kernel gave scores 1 step apart on ~2% of digits.)
- `tflite-runtime` 2.14: its dense layer's logits 1 step apart on some digits (its arm64 kernel),
  so logits may differ by 1 step, and where they do the probabilities by PROBS_TFLITE; labelled
  and reported, the only allowance left.
- The prepared 28x28 input (photos and pen alike) must be identical: the resizes of the digit
  preparation are exact integer arithmetic (device/resample.py) since OpenCV's differed.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np


class Rule(NamedTuple):
    logits: int  # int8 steps the logits may differ by on the same input
    probs: float  # how far probabilities may differ where the logits differ (never where not)
    why: str  # the label of a difference within these bounds


# A 1-step logit difference (scale 0.0305 for digitnet 1.4.1) moves a probability p by at most
# about 0.0305 * p * (1 - p) <= 0.008.
PROBS_TFLITE = 0.01
RULES = {
    "litert-ref": Rule(0, 0.0, "none: exact"),
    "litert": Rule(0, 0.0, "none: exact"),
    "tflite-runtime": Rule(1, PROBS_TFLITE, "inherent (tflite-runtime's dense layer on arm64)"),
}
#: Backends whose outputs are demanded identical on arm64 and x86-64 (any difference fails).
EXACT = frozenset(name for name, rule in RULES.items() if rule[:2] == (0, 0.0))


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


def _outputs(where: str, la, lb, pa, pb, rule: Rule, problems: list, diffs: list) -> None:
    """One input's int8 logits (la, lb) and probabilities (pa, pb) on the two machines: the
    same, within the rule (reported), or a problem. Probabilities must be bit-identical where
    the logits are: the device's softmax is exact."""
    d = _max_diff(la, lb)
    if d:
        line = f"{where}: int8 logits x86-64/arm64 {_where(la, lb)}"
        (diffs.append(f"{rule.why}: {line}") if d <= rule.logits else problems.append(line))
    a, b = np.asarray(pa, np.float64), np.asarray(pb, np.float64)
    if a.shape == b.shape and np.array_equal(a, b):
        return
    gap = float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
    line = f"{where}: probabilities x86-64/arm64 differ by up to {gap:.3g}: {_where(a, b, 3)}"
    (diffs.append(f"{rule.why}: {line}") if d and gap <= rule.probs else problems.append(line))


def compare_stage(x: dict, y: dict, names: list[str], rule: Rule) -> tuple[list[str], list[str]]:
    """The interpreter alone, both machines given the same int8 batch: logits and the device's
    probabilities from them within the backend's rule."""
    problems: list[str] = []
    diffs: list[str] = []
    sx, sy = x["stage"], y["stage"]
    if sx["inputs_sha256"] != sy["inputs_sha256"]:
        return ["interpreter stage: the two machines were not given the same int8 inputs"], []
    rows = zip(names, sx["logits_int8"], sy["logits_int8"], sx["probs"], sy["probs"], strict=True)
    for name, la, lb, pa, pb in rows:
        _outputs(f"interpreter stage, {name}", la, lb, pa, pb, rule, problems, diffs)
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
    rows = zip(sx["output_int8"], sy["output_int8"], sx["probs"], sy["probs"], strict=True)
    for i, (la, lb, pa, pb) in enumerate(rows):
        _outputs(f"self-test #{i} (device)", la, lb, pa, pb, rule, problems, diffs)
    for a, b in zip(x["inputs"], y["inputs"], strict=True):
        labels_a, labels_b = [d["digit"] for d in a["digits"]], [d["digit"] for d in b["digits"]]
        names += [f"{a['id']} digit {k} ({d})" for k, d in enumerate(labels_a)]
        if (a["id"], a["text"], labels_a) != (b["id"], b["text"], labels_b):
            problems.append(f"{a['id']}: x86-64 reads {a['text']!r}, arm64 {b['text']!r}")
            continue
        for k, (da, db) in enumerate(zip(a["digits"], b["digits"], strict=True)):
            where = f"{a['id']} digit {k} ({da['digit']})"
            if da["input_int8"] != db["input_int8"]:  # the preparation is exact: photos and pen alike
                ia, ib = np.array(da["input_int8"]), np.array(db["input_int8"])
                problems.append(
                    f"{where}: prepared input differs in {int((ia != ib).sum())} of 784 pixels by up to "
                    f"{_max_diff(ia, ib)} steps: {_where(ia, ib)}"
                )
                continue
            _outputs(
                f"{where} (device)",
                da["output_int8"],
                db["output_int8"],
                da["probs"],
                db["probs"],
                rule,
                problems,
                diffs,
            )
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


def compare_cli(step: str, x: str, y: str, probs: float, label: str) -> tuple[list[str], list[str]]:
    """`digitkiosk predict|strokes --json` lines: the same texts and digits; each answer that is
    not identical (latency aside) is reported with every field that differs. With `probs` 0 (an
    exact backend) any difference fails; otherwise confidences may differ by `probs` (other
    fields, such as the top 3, follow them), boxes not at all (the preparation is exact)."""
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
        bad = probs == 0 or (a.get("text"), a.get("error"), [d.get("digit") for d in da]) != (
            b.get("text"),
            b.get("error"),
            [d.get("digit") for d in db],
        )
        for p, q in zip(da, db, strict=not bad):
            bad |= abs(p.get("confidence", 0) - q.get("confidence", 0)) > probs + 1e-4  # JSON rounds
            bad |= p.get("box") != q.get("box")
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
    rule = RULES[backend]
    for step in ("strokes", "predict"):
        if step in arm:
            p, d = compare_cli(step, native[step]["stdout"], arm[step]["stdout"], rule.probs, rule.why)
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
