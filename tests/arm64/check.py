"""The device side on arm64, proven in an emulated userland and compared with x86-64 (issue 21).

    python tests/arm64/check.py [--cache DIR] [--backends litert,litert-ref,tflite-runtime]
                                [--layers N] [--litert VERSION ...] [--host-cpuinfo]

(`make arm64-check`; the test suite runs it as tests/arm64/test_arm64.py.) What it does:

1. A Debian bookworm arm64 userland (python3.11, pip) unpacked by `mmdebstrap --variant=extract`,
   cached; its Python runs under `qemu-aarch64-static -L ROOT` (no binfmt_misc, no root tricks)
   through a wrapper script that is also the process's `sys.executable`, so a child process
   (`digitkiosk bench`'s cold start) runs under emulation too. The emulated CPU is a Cortex-A72
   (`QEMU_CPU`, which the environment may override) and the userland's /proc/cpuinfo is a
   Raspberry Pi 4's (see README: without it, LiteRT >= 2.2 reads the x86 host's /proc/cpuinfo
   through the emulator and crashes).
2. The project's wheel, built here by `pip wheel` from the working tree.
3. For each interpreter package: pip running *on arm64* resolves and downloads the wheels (so the
   environment markers of the `[device]` extra are evaluated as on a Pi); the resolved wheels
   are cached and unpacked into a `--target` folder, the project's wheel beside them.
   - `litert`: `digitkiosk-*.whl[device]`, what `pip install "digitkiosk[device]"` gives a Pi;
   - `tflite-runtime`: tflite-runtime 2.14 with numpy < 2 and the project's wheel, as the
     `.venv-tflite` compatibility venv.
4. Under emulation and natively, with the same inputs (MNIST test digits written as PNG files,
   pages of them, real pen digits of unseen writers), for each backend (`litert`, the default:
   XNNPACK; `litert-ref`: LiteRT's reference kernels; `tflite-runtime`): `answers.py` (the
   verified loader and its self-test, every answer with its int8 input, the model's raw int8
   output (its logits) and the device's probabilities, and the interpreter alone on one int8
   batch that is the same on both machines: the self-test digits and the x86-64 run's prepared
   digits), `digitkiosk predict --json`, `digitkiosk strokes --json` and (litert) `digitkiosk
   bench`. Rules (compare.py), every backend: the model, the self-test and every digit and text
   the same; every prepared input (photo or pen), int8 logits, probability (bit for bit) and
   field of a CLI answer identical. Every difference is printed, one line each, and fails.

Exit status 0 when everything ran and agreed, 1 otherwise, 77 when mmdebstrap or
qemu-aarch64-static is missing. A summary goes to stdout and to CACHE/summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from compare import EXACT, compare, compare_answers, describe_exit
from inputs import SHARED_DATA, _idx, write_inputs
from layers import summarize
from userland import (
    SETS,
    SUITE,
    CheckError,
    build_wheel,
    emulated_cpu,
    environment,
    guest_python,
    log,
    must,
    run,
    unpack,
    userland,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# The same interpreter natively, for the comparison (built by `make dev-env`).
NATIVE = {"litert": REPO / ".venv/bin/python", "tflite-runtime": REPO / ".venv-tflite/bin/python"}
# The backends proven, each in its interpreter's environment (device/backends: chosen by name).
ENV = {"litert": "litert", "tflite-runtime": "tflite-runtime", "litert-ref": "litert"}


# --- running and comparing -------------------------------------------------------------------


def device_runs(
    python: Path, backend: str, inputs: dict, folder: Path, env: dict, bench: int | None, feed: Path | None
) -> dict:
    """Everything the check asks of one machine and one backend; outputs kept as text."""
    cli = [python, "-m", "digitkiosk.device"]
    images = [*inputs["single"], *inputs["pages"]]
    answers = [python, HERE / "answers.py", "--backend", backend, "--single", *inputs["single"]]
    answers += ["--pages", *inputs["pages"], "--strokes", inputs["strokes"]]
    steps = {
        "answers": answers + (["--feed", feed] if feed else []),
        "predict": [*cli, "predict", "--json", "--backend", backend, *images],
        "strokes": [*cli, "strokes", "--json", "--backend", backend, inputs["strokes"]],
    }
    if backend == "litert-ref":
        # answers.py reads the same photos through the same code; `predict` (run for the other
        # two backends) would add ~50 s of emulation.
        del steps["predict"]
    if bench:
        steps["bench"] = [*cli, "bench", "--backend", backend, "--repeats", str(bench)]
    out = {}
    for step, cmd in steps.items():
        t0 = time.perf_counter()
        proc = run(cmd, env=env, cwd=folder)
        out[step] = {
            "rc": proc.returncode,
            "stdout": proc.stdout,
            "stderr": proc.stderr[-4000:],
            "wall_s": round(time.perf_counter() - t0, 1),
        }
    return out


def write_feed(native: dict, path: Path) -> Path | None:
    """The x86-64 run's prepared int8 digits, for the arm64 interpreter (answers.py --feed)."""
    if native["answers"]["rc"] != 0:
        return None
    ans = json.loads(native["answers"]["stdout"])
    digits = [d["input_int8"] for i in ans["inputs"] for d in i["digits"]]
    np.save(path, np.array(digits, np.int8).reshape(-1, 28, 28))
    return path


def prove(backend: str, cache: Path, gpy: Path, pythonpath: str, inputs: dict, args) -> dict:
    """One backend: the runs on both machines (x86-64 first: its prepared digits feed the arm64
    interpreter), the comparison."""
    log(f"{backend}: running on x86-64 and on arm64 (emulated)")
    t0 = time.perf_counter()
    bench = args.bench_repeats if backend == "litert" else None  # the Pi's default; emulated anyway
    native = device_runs(NATIVE[ENV[backend]], backend, inputs, cache / "inputs", {}, None, None)
    feed = write_feed(native, cache / "runs" / f"{backend}-x86-64-inputs.npy")
    env = {"PYTHONPATH": pythonpath}
    arm = device_runs(gpy, backend, inputs, cache / "inputs", env, bench, feed)
    entry: dict = {"exact": backend in EXACT, "runs_s": round(time.perf_counter() - t0, 1)}
    problems = compare(native, arm)
    entry |= {"ok": not problems, "problems": problems}
    entry["steps_wall_s"] = {k: [native.get(k, {}).get("wall_s"), arm[k]["wall_s"]] for k in arm}
    for side, runs in (("x86-64", native), ("arm64", arm)):
        if runs["answers"]["rc"] == 0:
            ans = json.loads(runs["answers"]["stdout"])
            entry[f"{side}_versions"] = {k: v for k, v in ans["versions"].items() if v}
            if side == "arm64":
                entry["inputs"] = len(ans["inputs"])
                entry["digits"] = sum(len(i["digits"]) for i in ans["inputs"])
                entry["stage_digits"] = len(ans["stage"]["logits_int8"])
                entry["selftest_accuracy"] = ans["selftest"]["accuracy"]
                entry["texts"] = [i["text"] for i in ans["inputs"]]
    if "bench" in arm and arm["bench"]["rc"] == 0:
        entry["arm64_bench_emulated"] = json.loads(arm["bench"]["stdout"])
    for side, runs in (("x86-64", native), ("arm64", arm)):
        (cache / "runs" / f"{backend}-{side}.json").write_text(json.dumps(runs, indent=1))
    log(f"{backend}: {'PASS' if not problems else 'FAIL'} ({len(problems)} differences)")
    return entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_cache = Path(os.environ.get("DIGITKIOSK_ARM64_CACHE", REPO / ".cache/arm64"))
    ap.add_argument("--cache", type=Path, default=default_cache, help=f"default {default_cache}")
    ap.add_argument(
        "--backends",
        default=",".join(ENV),
        help=f"backends to prove (default: {','.join(ENV)}; tflite-runtime needs .venv-tflite)",
    )
    ap.add_argument("--bench-repeats", type=int, default=50, help="bench's timed inferences (default 50)")
    ap.add_argument(
        "--litert",
        action="append",
        default=[],
        metavar="VERSION",
        help="also try this ai-edge-litert version on arm64 (answers only, against the native run)",
    )
    ap.add_argument(
        "--layers",
        type=int,
        default=0,
        metavar="N",
        help="also compare every layer's int8 tensors, per kernel set, on N MNIST test digits",
    )
    ap.add_argument(
        "--host-cpuinfo",
        action="store_true",
        help="let the guest read the host's /proc/cpuinfo (reproduces LiteRT >= 2.2's crash)",
    )
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    missing = [t for t in ("mmdebstrap", "qemu-aarch64-static") if not shutil.which(t)]
    if missing:
        tools = " and ".join(missing)
        print(f"arm64 check skipped: {tools} not installed (apt-get install mmdebstrap qemu-user-static)")
        return 77
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in ENV:
            raise SystemExit(f"unknown backend {b!r} (choose from {', '.join(ENV)})")
        if not NATIVE[ENV[b]].is_file():
            raise SystemExit(f"{NATIVE[ENV[b]]} missing: run `make dev-env` first")
    sets = sorted({ENV[b] for b in backends}, key=list(SETS).index)
    cache = args.cache.resolve()
    (cache / "runs").mkdir(parents=True, exist_ok=True)
    summary: dict = {"ok": False, "environments": {}, "backends": {}, "timings_s": {}}
    problems: list[str] = []
    try:
        t0 = time.perf_counter()
        cached_root = (cache / f"{SUITE}-arm64" / ".digitkiosk-complete").is_file()
        root = userland(cache)
        gpy = guest_python(cache, root, args.host_cpuinfo)
        python = must(run([gpy, "-VV"]), "the arm64 userland's python").strip()
        summary["userland"] = {"cached": cached_root, "python": python, "qemu_cpu": emulated_cpu()}
        summary["userland"]["cpuinfo"] = "the host's" if args.host_cpuinfo else "a Raspberry Pi 4's"
        summary["timings_s"]["userland"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        wheel = build_wheel(cache, NATIVE["litert"])
        unpack([wheel], cache / "site" / "app", NATIVE["litert"])
        summary["wheel"] = wheel.name
        summary["timings_s"]["wheel"] = round(time.perf_counter() - t0, 1)
        inputs = write_inputs(cache / "inputs")
        # Emulation is one process per core at most: two at a time. The environments first (a
        # backend shares its set's), then the backends, the longest (litert, with bench) first.
        with ThreadPoolExecutor(max_workers=2) as pool:
            t0 = time.perf_counter()
            envs = {s: pool.submit(environment, cache, gpy, wheel, s, NATIVE["litert"]) for s in sets}
            paths = {}
            for s, future in envs.items():
                try:
                    paths[s], cached = future.result()
                    summary["environments"][s] = {"cached": cached}
                except CheckError as e:
                    problems.append(f"{s}: {e}")
            summary["timings_s"]["environments"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            todo = [b for b in backends if ENV[b] in paths]
            futures = {b: pool.submit(prove, b, cache, gpy, paths[ENV[b]], inputs, args) for b in todo}
            for b, future in futures.items():
                try:
                    summary["backends"][b] = entry = future.result()
                    problems += [f"{b}: {p}" for p in entry["problems"]]
                except CheckError as e:
                    problems.append(f"{b}: {e}")
            summary["timings_s"]["runs"] = round(time.perf_counter() - t0, 1)
        if args.layers and paths:
            summary["layers"] = layer_probe(args.layers, cache, gpy, paths)
        if args.litert and not problems:
            summary["litert_versions"] = litert_versions(args.litert, cache, gpy, inputs, NATIVE["litert"])
    except CheckError as e:
        problems.append(str(e))
    summary["problems"] = problems
    summary["ok"] = not problems
    summary["timings_s"]["total"] = round(time.perf_counter() - t_start, 1)
    (cache / "summary.json").write_text(json.dumps(summary, indent=1))
    report(summary)
    return 0 if summary["ok"] else 1


def layer_probe(n: int, cache: Path, gpy: Path, paths: dict) -> dict:
    """layers.py on both machines for each interpreter package: where do int8 tensors differ?
    (A probe for the README; not part of the test suite.)"""
    mnist = SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz"
    x = (_idx(mnist, 16).reshape(-1, 28, 28)[:n].astype(np.int16) - 128).astype(np.int8)  # scale 1/255
    np.save(cache / "runs" / "layers-inputs.npy", x)
    out = {}
    for s, pythonpath in paths.items():
        files = {}
        for side, python, env in (("x86-64", NATIVE[s], {}), ("arm64", gpy, {"PYTHONPATH": pythonpath})):
            files[side] = cache / "runs" / f"layers-{s}-{side}.npz"
            cmd = [
                python,
                HERE / "layers.py",
                "--package",
                s,
                "--inputs",
                cache / "runs" / "layers-inputs.npy",
            ]
            must(run([*cmd, "--out", files[side]], env=env, cwd=cache), f"layers.py {s} on {side}")
        with np.load(files["x86-64"]) as a, np.load(files["arm64"]) as b:
            out[s] = summarize(dict(a), dict(b))
        for line in out[s]:
            log(f"layers, {s}, {n} digits, x86-64 vs arm64 (tensor: digits differing/max steps): {line}")
    return out


def litert_versions(versions, cache, gpy, inputs, host_python) -> dict:
    """Other ai-edge-litert releases over the `litert` environment: does each create an
    interpreter, and are its answers (default kernels) the native run's, by the `litert` rules?
    (A probe for the README; not part of the test suite.)"""
    deps = cache / "site" / "litert"
    native = json.loads((cache / "runs" / "litert-x86-64.json").read_text())["answers"]["stdout"]
    out = {}
    for v in versions:
        folder = cache / "wheels" / f"ai-edge-litert-{v}"
        if not any(folder.glob("*.whl")):
            cmd = [gpy, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", folder]
            must(run([*cmd, f"ai-edge-litert=={v}"]), f"pip download ai-edge-litert=={v} on arm64")
        site = cache / "site" / f"ai-edge-litert-{v}"
        unpack(sorted(folder.glob("*.whl")), site, host_python)
        app = cache / "site" / "app"
        env = {"PYTHONPATH": os.pathsep.join(map(str, (app, site, deps)))}
        cmd = [gpy, HERE / "answers.py", "--backend", "litert", "--single", *inputs["single"]]
        cmd += ["--pages", *inputs["pages"], "--strokes", inputs["strokes"]]
        cmd += ["--feed", cache / "runs" / "litert-x86-64-inputs.npy"]
        proc = run(cmd, env=env, cwd=cache / "inputs")
        if proc.returncode != 0:
            out[v] = f"fails: {describe_exit(proc.returncode)}"
        else:
            found = compare_answers(json.loads(native), json.loads(proc.stdout))
            out[v] = f"runs; self-test {json.loads(proc.stdout)['selftest']['accuracy']:.0%}; " + (
                "; ".join(found) if found else "identical to x86-64 (the litert run)"
            )
        log(f"ai-edge-litert {v} on arm64: {out[v]}")
    return out


def report(summary: dict) -> None:
    u = summary.get("userland", {})
    cpu, cpuinfo = u.get("qemu_cpu", emulated_cpu()), u.get("cpuinfo", "a Raspberry Pi 4's")
    print(f"\narm64 check: Debian {SUITE} arm64 under qemu-user ({cpu}, {cpuinfo} /proc/cpuinfo)")
    print(f"  userland python: {u.get('python', '?')} (cached: {u.get('cached')})")
    for s, e in summary["environments"].items():
        print(f"  environment {s}: {'cached' if e['cached'] else 'resolved by pip on arm64'}")
    for name, e in summary["backends"].items():
        v = e.get("arm64_versions", {})
        interp = v.get("tflite-runtime") if name == "tflite-runtime" else v.get("ai-edge-litert")
        rule = "EXACT demanded: inputs, int8 logits, probabilities, CLI answers"
        print(
            f"  {name} {interp} [{rule}]: {'PASS' if e['ok'] else 'FAIL'}: {e.get('inputs', '?')} inputs "
            f"({e.get('digits', '?')} digits) and the 50 self-test digits (self-test "
            f"{e.get('selftest_accuracy', 0):.0%}), the interpreter alone on {e.get('stage_digits', '?')} "
            f"identical int8 inputs; numpy {v.get('numpy')}, opencv-python-headless "
            f"{v.get('opencv-python-headless')}; runs {e['runs_s']} s; "
            f"{len(e.get('problems', []))} differences"
        )
        for line in e.get("problems", []):
            print(f"      {line}")
        b = e.get("arm64_bench_emulated")
        if b:
            print(
                "    bench (emulated: not a Pi's speed): cold start "
                f"{b['cold_start']['process_to_first_prediction_s']} s, one digit p50 "
                f"{b['inference_one_digit_1_thread']['p50_ms']} ms, peak RSS {b['peak_rss_mb']} MB"
            )
    for s, lines in summary.get("layers", {}).items():
        print(f"  layers, {s} (tensor: digits differing/max int8 steps, x86-64 vs arm64):")
        for line in lines:
            print(f"    {line}")
    for v, r in summary.get("litert_versions", {}).items():
        print(f"  ai-edge-litert {v}: {r}")
    for p in summary["problems"]:
        print(f"  PROBLEM: {p}")
    print(
        f"  {'PASS' if summary['ok'] else 'FAIL'} in {summary['timings_s']['total']} s {summary['timings_s']}"
    )


if __name__ == "__main__":
    sys.exit(main())
