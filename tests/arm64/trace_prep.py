"""Which OpenCV call makes a photo's prepared input differ between machines (README, "arm64").

Records every OpenCV call the device makes while preparing photo inputs (its inputs' and
outputs' hashes, its array outputs), then compares two recordings and lists the calls whose
outputs differ although their inputs were the same: where a difference starts.

    cd .cache/arm64/inputs      # written by check.py
    ../../../.venv/bin/python ../../../tests/arm64/trace_prep.py --out /tmp/x86 *.png
    PYTHONPATH=../site/app:../site/litert ../bin/python3.11 ../../../tests/arm64/trace_prep.py \\
        --out /tmp/arm *.png    # under emulation, as check.py runs it
    .venv/bin/python tests/arm64/trace_prep.py --compare /tmp/x86 /tmp/arm

Images named page-* are read as numbers (find_digits), the others as one digit (single_digit).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

CALLS = ("resize", "GaussianBlur", "dilate", "erode", "morphologyEx", "threshold", "subtract")
CALLS += ("bitwise_not", "connectedComponentsWithStats", "cvtColor", "warpAffine", "blur")


def _hash(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return hashlib.sha1(np.ascontiguousarray(v).tobytes() + f"{v.dtype}{v.shape}".encode()).hexdigest()[
            :12
        ]
    if isinstance(v, (tuple, list)):
        return [_hash(x) for x in v]
    return repr(v)[:40]


def record(out: Path, paths: list[str]) -> None:
    import cv2

    calls: list[dict] = []
    arrays: dict[str, np.ndarray] = {}

    def wrap(name: str, f):
        @functools.wraps(f)
        def g(*a, **k):
            result = f(*a, **k)
            i = len(calls)
            calls.append({"i": i, "f": name, "in": _hash([*a, *k.values()]), "out": _hash(result)})
            for j, o in enumerate(result if isinstance(result, tuple) else (result,)):
                if isinstance(o, np.ndarray):
                    arrays[f"{i}_{j}"] = o
            return result

        return g

    for name in CALLS:
        setattr(cv2, name, wrap(name, getattr(cv2, name)))  # the device calls cv2.<name> by attribute
    from digitkiosk.device.imageio import read_image
    from digitkiosk.device.segment import find_digits, single_digit

    runs = {}
    for path in paths:
        calls.clear()
        image = read_image(path)
        if Path(path).name.startswith("page"):
            prepared = [d.image for d in find_digits(image).digits]
        else:
            prepared = [single_digit(image)[0]]
        runs[path] = {"calls": list(calls), "prepared": _hash(prepared)}
        np.savez_compressed(f"{out}-{Path(path).name}.npz", **arrays)
        arrays.clear()
    Path(f"{out}.json").write_text(json.dumps(runs))


def compare(a: str, b: str) -> None:
    ra, rb = json.loads(Path(f"{a}.json").read_text()), json.loads(Path(f"{b}.json").read_text())
    for path, x in ra.items():
        y = rb[path]
        roots = []
        with np.load(f"{a}-{Path(path).name}.npz") as na, np.load(f"{b}-{Path(path).name}.npz") as nb:
            for p, q in zip(x["calls"], y["calls"], strict=False):
                if p["f"] != q["f"]:
                    roots.append(f"#{p['i']} the calls diverge: {p['f']} / {q['f']}")
                    break
                if p["out"] != q["out"] and p["in"] == q["in"]:
                    key = max(k for k in na.files if k.startswith(f"{p['i']}_"))
                    d = np.abs(na[key].astype(np.float64) - nb[key].astype(np.float64))
                    roots.append(
                        f"#{p['i']} {p['f']} -> {na[key].dtype} {na[key].shape}: "
                        f"{int((d > 0).sum())} values differ, by up to {d.max():.3g}"
                    )
        same = "the same" if x["prepared"] == y["prepared"] else "different"
        where = "; ".join(roots) or "none"
        print(f"{path}: prepared (float32) input {same}; outputs differing from the same input: {where}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="recording prefix (writes PREFIX.json and PREFIX-IMAGE.npz)")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="two recording prefixes")
    ap.add_argument("images", nargs="*")
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
    elif args.out:
        record(Path(args.out), args.images)
    else:
        ap.error("--out or --compare")
    return 0


if __name__ == "__main__":
    sys.exit(main())
