"""`digitkiosk bench`: the device's speed and memory figures, measured on this machine.

Cold start is measured in a fresh process (import → verified load → first prediction), the rest
in this one, on the given number of interpreter threads (default one). Inputs are the real digits
shipped with the package. The trust policy is passed on explicitly, to the fresh process too.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

from .loader import load_model, selftest_digits
from .package import TrustPolicy
from .recognizer import Recognizer
from .strokes import parse_strokes

COLD_START_CODE = """
import sys, time
t0 = time.perf_counter()
from digitkiosk.device.loader import load_model, selftest_digits
from digitkiosk.device.package import TrustPolicy
from digitkiosk.device.recognizer import Recognizer
model, backend, threads, trust_dir, unsigned, pen, paper = sys.argv[1:8]
policy = TrustPolicy(trust_dir, allow_unsigned=unsigned == "1")
r = Recognizer(load_model(model or None, backend=backend, num_threads=int(threads), policy=policy))
if pen != "off":  # the kiosk loads the stroke model too
    from digitkiosk.device.stroke_reader import load_stroke_model, default_stroke_model_path
    r.stroke_model = load_stroke_model(pen or default_stroke_model_path(), policy=policy, backend=backend)
if paper != "off":  # and the paper model, for the camera and photos
    from digitkiosk.device.paper_reader import load_paper_model, default_paper_model_path
    r.paper_model = load_paper_model(paper or default_paper_model_path(), policy=policy, backend=backend)
images, _ = selftest_digits()
r.classify(images[:1] / 255.0)
print(time.perf_counter() - t0)
"""


def _percentiles(samples: list[float]) -> dict:
    a = np.asarray(samples) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 4),
        "p99_ms": round(float(np.percentile(a, 99)), 4),
        "n": len(samples),
    }


def _time_reading(recognizer: Recognizer, image: np.ndarray, times: int) -> dict:
    """`read_image` of one picture, once to warm up, then `times` timed."""
    recognizer.read_image(image)
    samples = []
    for _ in range(times):
        t0 = time.perf_counter()
        recognizer.read_image(image)
        samples.append(time.perf_counter() - t0)
    return _percentiles(samples)


def cold_start(
    model: str | None,
    backend: str,
    threads: int,
    policy: TrustPolicy,
    runs: int = 3,
    pen: str = "off",
    paper: str = "off",
) -> dict:
    """Wall time from process spawn to first prediction (median of `runs`), and the in-process part.
    `pen`, `paper`: the stroke and paper models loaded too ("" the bundled one), or "off"."""
    walls, inner = [], []
    trust = [str(policy.trust_dir), "1" if policy.allow_unsigned else "0", pen, paper]
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD_START_CODE, model or "", backend, str(threads), *trust],
            capture_output=True,
            text=True,
            check=True,
        )
        walls.append(time.perf_counter() - t0)
        inner.append(float(out.stdout.strip().splitlines()[-1]))
    return {
        "process_to_first_prediction_s": round(float(np.median(walls)), 3),
        "import_load_predict_s": round(float(np.median(inner)), 3),
    }


def compose_page(images: np.ndarray, count: int = 6, seed: int = 0) -> np.ndarray:
    """A 640x480 'photo': dark digits on light paper with a lighting gradient."""
    import cv2

    rng = np.random.default_rng(seed)
    page = np.full((480, 640), 235, np.float32)
    page -= np.linspace(0, 50, 640)[None, :]  # uneven light
    for i in range(count):
        d = cv2.resize(images[rng.integers(len(images))].astype(np.float32), (84, 84))
        y, x = 190, 60 + i * 80  # one number: digits a little apart, as people write them
        page[y : y + 84, x : x + 84] -= d * 0.7
    page += rng.normal(0, 4, page.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


def compose_field(images: np.ndarray, count: int = 5, seed: int = 0) -> np.ndarray:
    """A 220x60 cheque amount field: `count` dark digits, 40 px high, on light grainy paper."""
    import cv2

    rng = np.random.default_rng(seed)
    field = np.full((60, 40 + 34 * count), 225, np.float32)
    for i in range(count):
        d = cv2.resize(images[rng.integers(len(images))].astype(np.float32), (40, 40))
        field[10:50, 20 + i * 34 : 60 + i * 34] -= d * 0.6
    field += rng.normal(0, 4, field.shape)
    return np.clip(field, 0, 255).astype(np.uint8)


def run_bench(
    model: str | None = None,
    backend: str = "auto",
    repeats: int = 500,
    *,
    threads: int = 1,
    policy: TrustPolicy | None = None,
    stroke_model: str | None = "off",
    paper_model: str | None = "off",
    line_model: str | None = "off",
) -> dict:
    """`stroke_model`, `paper_model`, `line_model`: the pen path's stroke model, the pictures'
    paper model and the fields' line model (None: the bundled one; "off": none)."""
    policy = policy or TrustPolicy()
    loaded = load_model(model, backend=backend, num_threads=threads, policy=policy)
    recognizer = Recognizer(loaded)
    if stroke_model != "off":
        from .stroke_reader import open_stroke_model

        recognizer.stroke_model = open_stroke_model(
            Path(stroke_model) if stroke_model else None, policy, backend=backend, num_threads=threads
        )
    if paper_model != "off":
        from .paper_reader import open_paper_model

        recognizer.paper_model = open_paper_model(
            Path(paper_model) if paper_model else None, policy, backend=backend, num_threads=threads
        )
    if line_model != "off":
        from .line_reader import open_line_model

        recognizer.line_model = open_line_model(
            Path(line_model) if line_model else None, policy, backend=backend, num_threads=threads
        )
    images, _ = selftest_digits()
    x = images.astype(np.float32) / 255.0
    runner = loaded.runner
    for i in range(50):  # warm-up
        runner.predict(x[i % len(x)][None])
    infer = []
    for i in range(repeats):
        one = x[i % len(x)][None]
        t0 = time.perf_counter()
        runner.predict(one)
        infer.append(time.perf_counter() - t0)

    # A picture's digit with the paper model: its call, and the digit model's where it is unsure.
    picture = []
    if recognizer.paper_model is not None:
        for i in range(repeats):
            one = x[i % len(x)][None]
            t0 = time.perf_counter()
            recognizer.paper_model.read(one, loaded)
            picture.append(time.perf_counter() - t0)

    with resources.files("digitkiosk.device").joinpath("data/sample_strokes.jsonl").open() as f:
        samples = [parse_strokes(json.loads(line)["strokes"]) for line in f if line.strip()]
    # A short run (under 100 repeats: the emulated arm64 check, where each reading is ~30 times
    # slower) times 20 pen readings, 10 pages and 3 fields instead of 200, 100 and 100.
    short = repeats < 100
    stroke_times = []
    for i in range(20 if short else max(200, len(samples))):
        t0 = time.perf_counter()
        recognizer.read_strokes(samples[i % len(samples)])
        stroke_times.append(time.perf_counter() - t0)

    result = {
        "model": loaded.describe(),
        "threads": threads,
        "stroke_model": recognizer.stroke_model.describe() if recognizer.stroke_model else None,
        "paper_model": recognizer.paper_model.describe() if recognizer.paper_model else None,
        "cold_start": cold_start(
            model,
            backend,
            threads,
            policy,
            pen="off" if recognizer.stroke_model is None else stroke_model or "",
            paper="off" if recognizer.paper_model is None else paper_model or "",
        ),
        f"inference_one_digit_{threads}_thread{'s' if threads > 1 else ''}": _percentiles(infer),
        "picture_digit_paper_model": _percentiles(picture) if picture else None,
        "strokes_to_prediction": _percentiles(stroke_times),
    }
    try:
        result["image_640x480_to_digits"] = _time_reading(
            recognizer, compose_page(images), 10 if short else 100
        )
    except NotImplementedError:
        result["image_640x480_to_digits"] = None
    # A cheque field: the line model (all its members) and segmentation, as `predict` reads one.
    result["line_model"] = recognizer.line_model.describe() if recognizer.line_model else None
    result["field_to_digits"] = _time_reading(recognizer, compose_field(images), 3 if short else 100)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    return result
