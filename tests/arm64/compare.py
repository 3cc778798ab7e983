"""The arm64 check's comparison rules: one backend's x86-64 and arm64 runs → (problems, differences).

What was measured (README, "arm64"; every layer's int8 output, `check.py --layers 600`, and the
check's digits; ai-edge-litert 2.3.0, tflite-runtime 2.14.0), hence one rule for every backend,
exactness, and any difference fails (each printed, one line):
- The models end at their int8 logits (card `output_kind: "logits"`) and the device computes the
  softmax itself, bit-identically on every processor (device/outputs.py): the probabilities
  must be the same bits. (Before, LiteRT's own int8 SOFTMAX kernel gave scores 1 step apart on
  ~2% of digits.)
- `litert` (the default: XNNPACK runs every op of the logits models) and `litert-ref` (LiteRT's
  reference kernels): every layer identical on both machines.
- `tflite-runtime` 2.14: identical when invoked one digit at a time, as its backend does
  (`max_batch` 1); its batched dense layer gave 1-step logit differences on arm64.
- The prepared 28x28 input (photos and pen alike): the resizes of the digit preparation are
  exact integer arithmetic (device/resample.py), since OpenCV's differed.
- The stroke model (pen path, beside the digit model): its trajectory input (float64 numpy, then
  int8), its int8 logits and probabilities, and the pair's probabilities of every pen digit.
- The paper model (pictures, with the digit model as partner where it is unsure): its int8 logits
  of every picture digit, and the probabilities of the answers, the pair's where it read with one.
So: inputs, logits, probabilities and every field of every `predict`/`strokes --json` answer.
"""

from __future__ import annotations

import json

import numpy as np

#: Backends whose outputs are demanded identical on arm64 and x86-64: all that the check runs.
EXACT = frozenset({"litert", "litert-ref", "tflite-runtime"})


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


def _outputs(where: str, la, lb, pa, pb, problems: list) -> None:
    """One input's int8 logits (la, lb) and probabilities (pa, pb) on the two machines: the
    same, bit for bit, or a problem per kind, with every position that differs."""
    if _max_diff(la, lb):
        problems.append(f"{where}: int8 logits x86-64/arm64 {_where(la, lb)}")
    a, b = np.asarray(pa, np.float64), np.asarray(pb, np.float64)
    if not (a.shape == b.shape and np.array_equal(a, b)):
        gap = float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
        problems.append(f"{where}: probabilities x86-64/arm64 differ by up to {gap:.3g}: {_where(a, b, 3)}")


def compare_stage(x: dict, y: dict, names: list[str]) -> list[str]:
    """The interpreter alone, both machines given the same int8 batch: the same logits and the
    same probabilities from them."""
    problems: list[str] = []
    sx, sy = x["stage"], y["stage"]
    if sx["inputs_sha256"] != sy["inputs_sha256"]:
        return ["interpreter stage: the two machines were not given the same int8 inputs"]
    rows = zip(names, sx["logits_int8"], sy["logits_int8"], sx["probs"], sy["probs"], strict=True)
    for name, la, lb, pa, pb in rows:
        _outputs(f"interpreter stage, {name}", la, lb, pa, pb, problems)
    return problems


def compare_answers(x: dict, y: dict) -> list[str]:
    """answers.py on x86-64 (x) and arm64 (y) → every difference, each a problem."""
    problems: list[str] = []
    if y["machine"] != "aarch64":
        problems.append(f"the emulated run reports machine {y['machine']!r}, not aarch64")
    if x["model"] != y["model"]:
        problems.append(f"model differs: {_short(x['model'])} / {_short(y['model'])}")
    if x.get("paper_model") != y.get("paper_model"):
        problems.append(f"paper model differs: {x.get('paper_model')} / {y.get('paper_model')}")
    sx, sy = x["selftest"], y["selftest"]
    if (sx["accuracy"], sx["digits"]) != (sy["accuracy"], sy["digits"]):
        problems.append(
            f"self-test differs: {sx['accuracy']} {sx['digits']} / {sy['accuracy']} {sy['digits']}"
        )
    names = [f"self-test #{i} ({d})" for i, d in enumerate(sx["digits"])]
    rows = zip(sx["output_int8"], sy["output_int8"], sx["probs"], sy["probs"], strict=True)
    for i, (la, lb, pa, pb) in enumerate(rows):
        _outputs(f"self-test #{i} (device)", la, lb, pa, pb, problems)
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
            if da.get("paper_output_int8") != db.get("paper_output_int8"):
                pa, pb = np.array(da["paper_output_int8"]), np.array(db["paper_output_int8"])
                problems.append(
                    f"{where}: paper model's int8 output differs by up to {_max_diff(pa, pb)} steps"
                )
            _outputs(
                f"{where} (device)", da["output_int8"], db["output_int8"], da["probs"], db["probs"], problems
            )
    if x.get("stroke_model") != y.get("stroke_model"):
        problems.append(f"stroke model differs: {x.get('stroke_model')} / {y.get('stroke_model')}")
    for a, b in zip(x.get("pen", []), y.get("pen", []), strict=True):
        where = f"{a['id']} stroke model"
        if a["input_int8"] != b["input_int8"]:  # the trajectory: float64 numpy, then int8
            problems.append(f"{where}: trajectory differs: {_where(a['input_int8'], b['input_int8'])}")
            continue
        _outputs(where, a["output_int8"], b["output_int8"], a["probs"], b["probs"], problems)
    return problems + compare_stage(x, y, names)


def _fields(a, b, at: str = "") -> list[str]:
    """Every field of two JSON answers that differs, as `path x86-64/arm64`."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [line for k in sorted(set(a) | set(b)) for line in _fields(a.get(k), b.get(k), f"{at}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and at.endswith("digits"):
        pairs = enumerate(zip(a, b, strict=True))
        return [line for i, (p, q) in pairs for line in _fields(p, q, f"{at}[{i}]")]
    return [] if a == b else [f"{at.lstrip('.')} {json.dumps(a)}/{json.dumps(b)}"]


def compare_cli(step: str, x: str, y: str) -> list[str]:
    """`digitkiosk predict|strokes --json` lines: every answer identical (latency aside); one
    problem per answer that is not, with every field that differs."""
    ra, rb = [json.loads(line) for line in x.splitlines()], [json.loads(line) for line in y.splitlines()]
    if len(ra) != len(rb):
        return [f"digitkiosk {step}: {len(ra)} answers on x86-64, {len(rb)} on arm64"]
    problems: list[str] = []
    for a, b in zip(ra, rb, strict=True):
        a.pop("latency_ms", None), b.pop("latency_ms", None)
        if a != b:
            where = a.get("path", a.get("id"))
            problems.append(f"digitkiosk {step} --json: {where}: x86-64/arm64 " + "; ".join(_fields(a, b)))
    return problems


def compare(native: dict, arm: dict) -> list[str]:
    """Every difference between one backend's native and arm64 runs, each a problem."""
    problems: list[str] = []
    for step, a in arm.items():
        for side, r in (("x86-64", native.get(step, {"rc": 0})), ("arm64", a)):
            if r["rc"] != 0:
                tail = " | ".join(r["stderr"].strip().splitlines()[-3:])
                problems.append(f"{step} on {side}: {describe_exit(r['rc'])}: {tail}")
    if problems:
        return problems
    x, y = json.loads(native["answers"]["stdout"]), json.loads(arm["answers"]["stdout"])
    problems = compare_answers(x, y)
    for step in ("strokes", "predict"):
        if step in arm:
            problems += compare_cli(step, native[step]["stdout"], arm[step]["stdout"])
    if "bench" in arm:
        bench = json.loads(arm["bench"]["stdout"])
        for key in (
            "cold_start",
            "inference_one_digit_1_thread",
            "picture_digit_paper_model",
            "strokes_to_prediction",
            "image_640x480_to_digits",
        ):
            if not bench.get(key):
                problems.append(f"digitkiosk bench on arm64 gave no {key}")
    return problems


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
