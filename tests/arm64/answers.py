"""The device's answers for the arm64 check's inputs, with what the CLI does not show: the int8
input the model was given and the raw int8 scores it returned. Run by `check.py` with the same
arguments on x86-64 and, under emulation, on arm64; the two JSON outputs must be equal.

Only the installed package is used (no repository paths): on arm64 it is the wheel installed as
a Pi would install it.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from importlib import metadata

import numpy as np
from digitkiosk.device.backends import get_backend
from digitkiosk.device.imageio import read_image
from digitkiosk.device.loader import load_model, selftest_digits
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.device.strokes import parse_strokes

PACKAGES = ("ai-edge-litert", "tflite-runtime", "numpy", "opencv-python-headless", "pillow")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _quantize(x: np.ndarray, details: dict) -> np.ndarray:
    scale, zero = details["quantization"]
    info = np.iinfo(details["dtype"])
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(int)


def _int8(probs: np.ndarray, details: dict) -> list:
    """Dequantized float32 scores → the integers the interpreter returned (exact inverse)."""
    scale, zero = details["quantization"]
    return np.round(np.asarray(probs, np.float64) / scale + zero).astype(int).tolist()


def _without_xnnpack(model, backend: str, images: np.ndarray) -> list:
    """Raw int8 scores from an interpreter built without the default XNNPACK delegate (the
    builtin kernels, whose integer arithmetic is specified exactly): tells an interpreter's
    architecture-specific kernels apart from a real difference."""
    cls = get_backend(backend).interpreter_class()
    resolver = sys.modules[cls.__module__].OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = cls(model_content=model.path.read_bytes(), num_threads=1, experimental_op_resolver_type=resolver)
    details = it.get_input_details()[0]
    it.resize_tensor_input(details["index"], [len(images), *details["shape"][1:]])
    it.allocate_tensors()
    details = it.get_input_details()[0]
    x = _quantize(images.reshape((len(images), *details["shape"][1:])), details).astype(details["dtype"])
    it.set_tensor(details["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).astype(int).tolist()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--single", nargs="*", default=[], help="images holding one digit each")
    ap.add_argument("--pages", nargs="*", default=[], help="images holding a number")
    ap.add_argument("--strokes", help="JSON lines of pen strokes")
    args = ap.parse_args()

    model = load_model(backend=args.backend, num_threads=1)  # the verified path, self-test included
    runner = model.runner
    if np.dtype(runner.output_details["dtype"]) != np.int8:
        raise SystemExit(f"expected an int8 model, got {runner.output_details['dtype']}")
    recognizer = Recognizer(model)
    images = selftest_digits()[0].astype(np.float32) / 255.0
    selftest = model.predict_probs(images)
    out: dict = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in PACKAGES},
        "model": model.describe() | {"path": None},
        "selftest": {
            "accuracy": model.selftest_accuracy,
            "digits": [str(int(v)) for v in selftest.argmax(axis=1)],
            "scores_int8": _int8(selftest, runner.output_details),
            "scores_int8_without_xnnpack": _without_xnnpack(model, args.backend, images),
        },
        "inputs": [],
    }
    readings = []
    for path in args.single:
        readings.append(("single", path, recognizer.read_single(read_image(path))))
    for path in args.pages:
        readings.append(("page", path, recognizer.read_image(read_image(path))))
    if args.strokes:
        with open(args.strokes, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        for row in rows:
            readings.append(("strokes", row["id"], recognizer.read_strokes(parse_strokes(row["strokes"]))))
    prepared = np.stack([d.image for _, _, r in readings for d in r.digits])
    plain = iter(_without_xnnpack(model, args.backend, prepared))
    for kind, ident, reading in readings:
        digits = [
            {
                "digit": d.label,
                "scores_int8": _int8(d.probs, runner.output_details),
                "scores_int8_without_xnnpack": next(plain),
                "input_int8": _quantize(d.image, runner.input_details).ravel().tolist(),
            }
            for d in reading.digits
        ]
        out["inputs"].append({"kind": kind, "id": ident, "text": reading.text, "digits": digits})
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
