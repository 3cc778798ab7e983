"""Where int8 outputs differ between machines, layer by layer (`check.py --layers N`).

    python layers.py --package litert|tflite-runtime --inputs X.npy --out OUT.npz

Runs the bundled model (through the verified loader) on int8 inputs X (N, 28, 28) with each of
the interpreter's kernel sets (`OpResolverType`: AUTO = the default, for LiteRT XNNPACK;
BUILTIN_WITHOUT_DEFAULT_DELEGATES = the optimized builtin kernels; BUILTIN_REF = the reference
kernels), on the whole batch, and the default once more one digit per invoke (AUTO-1), keeping
every tensor (`experimental_preserve_all_tensors`), and saves each int8 tensor with a batch
dimension. `summarize` compares two such files (x86-64, arm64). Only the installed
package is used, as in answers.py.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys

import numpy as np

RESOLVERS = ("AUTO", "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "BUILTIN_REF")
# Each kernel set on the whole batch at once, and the default again one digit per invoke
# ("AUTO-1", as the tflite-runtime backend runs: its batched dense layer differs on arm64).
RUNS = (*((name, name, None) for name in RESOLVERS), ("AUTO-1", "AUTO", 1))
MODULES = {"litert": "ai_edge_litert.interpreter", "tflite-runtime": "tflite_runtime.interpreter"}


def run_layers(package: str, model_bytes: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    mod = importlib.import_module(MODULES[package])
    out: dict[str, np.ndarray] = {}
    for label, name, step in RUNS:
        it = mod.Interpreter(
            model_content=model_bytes,
            num_threads=1,
            experimental_op_resolver_type=getattr(mod.OpResolverType, name),
            experimental_preserve_all_tensors=True,
        )
        step = step or len(x)
        details = it.get_input_details()[0]
        it.resize_tensor_input(details["index"], [step, *details["shape"][1:]])
        it.allocate_tensors()
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(x), step):
            it.set_tensor(details["index"], x[start : start + step].reshape(step, 28, 28, 1).astype(np.int8))
            it.invoke()
            # The layers' outputs (not weights, shapes or kernels' scratch tensors), by the op that
            # writes each (delegate nodes are listed after the ops they replace).
            ops = [o for o in it._get_ops_details() if o["op_name"] != "DELEGATE"]
            for op in ops:
                for t in map(int, op["outputs"]):
                    value = it.get_tensor(t)
                    if value.dtype == np.int8 and value.ndim >= 2 and value.shape[0] == step:
                        parts.setdefault(f"{label}/{t:03d} {op['op_name']}", []).append(
                            value.reshape(step, -1)
                        )
        out |= {k: np.concatenate(v) for k, v in parts.items()}
    return out


def summarize(a: dict, b: dict) -> list[str]:
    """Per kernel set, per layer (op #output tensor): digits whose int8 output differs / max steps."""
    lines = []
    for name, _, _ in RUNS:
        keys = sorted(k for k in a if k.startswith(name + "/") and k in b)
        cells = []
        for k in keys:
            d = np.abs(a[k].astype(int) - b[k].astype(int))
            index, op = k.split("/")[1].split()
            cells.append(f"{op} #{int(index)}: {int((d.max(axis=1) > 0).sum())}/{int(d.max())}")
        if cells:
            lines.append(f"{name}: " + ", ".join(cells))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", choices=sorted(MODULES), required=True)
    ap.add_argument("--inputs", required=True, help=".npy of int8 (N, 28, 28)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from digitkiosk.device.loader import load_model

    model = load_model(backend=args.package, num_threads=1)  # the verified path
    tensors = run_layers(args.package, model.path.read_bytes(), np.load(args.inputs))
    np.savez_compressed(args.out, machine=np.array(platform.machine()), **tensors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
