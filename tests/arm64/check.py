"""The device side on arm64, proven in an emulated userland and compared with x86-64 (issue 21).

    python tests/arm64/check.py [--cache DIR] [--litert VERSION ...] [--host-cpuinfo]

(`make arm64-check`; the test suite runs it as tests/arm64/test_arm64.py.) What it does:

1. A Debian bookworm arm64 userland (python3.11, pip) unpacked by `mmdebstrap --variant=extract`,
   cached; its Python runs under `qemu-aarch64-static -L ROOT` (no binfmt_misc, no root tricks)
   through a wrapper script that is also the process's `sys.executable`, so a child process
   (`digitkiosk bench`'s cold start) runs under emulation too. The emulated CPU is a Cortex-A72
   (`QEMU_CPU`, which the environment may override) and the userland's /proc/cpuinfo is a
   Raspberry Pi 4's (see README: without it, LiteRT >= 2.2 reads the x86 host's /proc/cpuinfo
   through the emulator and crashes).
2. The project's wheel, built here by `pip wheel` from the working tree.
3. For each interpreter: pip running *on arm64* resolves and downloads the wheels (so the
   environment markers of the `[device]` extra are evaluated as on a Pi); the resolved wheels
   are cached and unpacked into a `--target` folder, the project's wheel beside them.
   - `litert`: `digitkiosk-*.whl[device]`, what `pip install "digitkiosk[device]"` gives a Pi;
   - `tflite-runtime`: tflite-runtime 2.14 with numpy < 2 and the project's wheel, as the
     `.venv-tflite` compatibility venv.
4. Under emulation and natively, with the same inputs (MNIST test digits written as PNG files,
   pages of them, real pen digits of unseen writers): `answers.py` (the verified loader and its
   self-test, every answer with its int8 input and raw int8 scores), `digitkiosk predict --json`,
   `digitkiosk strokes --json` and (LiteRT) `digitkiosk bench`. The model, the self-test and every
   digit and text must be the same on both machines; int8 scores and prepared inputs are compared
   value by value, every difference is reported, and beyond MAX_SCORE_STEPS / MAX_INPUT_STEPS /
   MAX_BOX_PX (or any difference in a pen digit's input) the check fails.

Exit status 0 when everything ran and agreed, 1 otherwise, 77 when mmdebstrap or
qemu-aarch64-static is missing. A summary goes to stdout and to CACHE/summary.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SHARED_DATA = Path(os.environ.get("DIGITKIOSK_SHARED_DATA", REPO.parent / "shared" / "data"))
SUITE = "bookworm"
PACKAGES = "python3.11,python3-pip,libstdc++6"  # libstdc++6: the interpreters' C++ runtime
GUEST_PYTHON = "3.11"
QEMU_CPU = "cortex-a72"  # the Raspberry Pi 4's core
# A Raspberry Pi 4's /proc/cpuinfo (64-bit kernel), two cores of four.
PI4_CPUINFO = (
    "".join(
        f"processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
        "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\n"
        "CPU revision\t: 3\n\n"
        for i in range(2)
    )
    + "Hardware\t: BCM2835\nRevision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n"
)

# What each interpreter's arm64 environment is resolved from ({wheel} = the project's wheel).
SETS = {
    "litert": ["{wheel}[device]"],
    "tflite-runtime": [
        "{wheel}",
        "tflite-runtime==2.14.0",
        "numpy<2",
        "opencv-python-headless<4.11",
        "cryptography>=41",
        "psutil>=5.9",
    ],
}
# The same interpreter natively, for the comparison (built by `make dev-env`).
NATIVE = {"litert": REPO / ".venv/bin/python", "tflite-runtime": REPO / ".venv-tflite/bin/python"}
STEP_TIMEOUT_S = 900


class CheckError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[arm64] {msg}", flush=True)


def run(cmd: list, *, env: dict | None = None, cwd: Path | None = None, timeout: float = STEP_TIMEOUT_S):
    """Run a command; return the CompletedProcess (never raises on exit status)."""
    full_env = {**os.environ, **(env or {})}
    try:
        return subprocess.run(
            [str(c) for c in cmd], env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        raise CheckError(f"timed out after {timeout:.0f} s: {' '.join(map(str, cmd[:6]))} ...") from e


def describe_exit(rc: int) -> str:
    if rc < 0 or rc > 128:
        sig = -rc if rc < 0 else rc - 128
        try:
            return f"killed by {signal.Signals(sig).name} (signal {sig})"
        except ValueError:
            return f"exit status {rc}"
    return f"exit status {rc}"


def must(proc, what: str) -> str:
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-12:])
        raise CheckError(f"{what}: {describe_exit(proc.returncode)}\n{tail}")
    return proc.stdout


def emulated_cpu() -> str:
    return os.environ.get("QEMU_CPU") or QEMU_CPU


# --- the userland ---------------------------------------------------------------------------


def userland(cache: Path) -> Path:
    root = cache / f"{SUITE}-arm64"
    if (root / ".digitkiosk-complete").is_file():
        return root
    log(f"building the {SUITE} arm64 userland with mmdebstrap ({PACKAGES})")
    tmp = cache / f"{SUITE}-arm64.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = ["mmdebstrap", "--arch=arm64", "--variant=extract", f"--include={PACKAGES}", SUITE, tmp]
    if os.geteuid() != 0:
        cmd.insert(1, "--mode=unshare")
    must(run(cmd, timeout=1200), "mmdebstrap")
    (tmp / ".digitkiosk-complete").write_text(" ".join(map(str, cmd)) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


def guest_python(cache: Path, root: Path, host_cpuinfo: bool) -> Path:
    """A wrapper that runs the userland's python3.11 under qemu-user; it is also sys.executable."""
    proc = root / "proc"
    if host_cpuinfo:
        shutil.rmtree(proc, ignore_errors=True)
    else:
        # qemu-user -L looks a path up in ROOT first, so the guest reads this file, not the host's.
        proc.mkdir(exist_ok=True)
        (proc / "cpuinfo").write_text(PI4_CPUINFO)
    wrapper = cache / "bin" / f"python{GUEST_PYTHON}"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(
        "#!/bin/sh\n"
        "# The arm64 userland's Python under qemu-user (written by tests/arm64/check.py).\n"
        f'QEMU_CPU="${{QEMU_CPU:-{QEMU_CPU}}}" exec qemu-aarch64-static -L "{root}" -0 "$0" '
        f'"{root}/usr/bin/python{GUEST_PYTHON}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


# --- the project's wheel and the arm64 environments ---------------------------------------------


def build_wheel(cache: Path, host_python: Path) -> Path:
    """`pip wheel` of the working tree (tracked and untracked, not ignored files), from a copy so
    that no build/ folder is left in the tree or reused."""
    out = cache / "dist"
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="digitkiosk-src-") as tmp:
        files = run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO)
        if files.returncode == 0:
            for name in filter(None, files.stdout.split("\0")):
                src = REPO / name
                if src.is_file():
                    dst = Path(tmp) / name
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dst)
            source = Path(tmp)
        else:
            source = REPO
        must(
            run([host_python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source], timeout=600),
            "pip wheel (the project's wheel)",
        )
    wheels = sorted(out.glob("digitkiosk-*.whl"))
    if len(wheels) != 1:
        raise CheckError(f"expected one digitkiosk wheel in {out}, found {len(wheels)}")
    return wheels[0]


def wheel_requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(meta).decode()
    return sorted(
        line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Dist:")
    )


def resolve(cache: Path, gpy: Path, wheel: Path, name: str) -> tuple[Path, bool]:
    """pip on arm64 resolves and downloads the set's wheels (cached while the requirements hold)."""
    reqs = [r.format(wheel=wheel) for r in SETS[name]]
    key = json.dumps({"set": SETS[name], "requires": wheel_requirements(wheel), "suite": SUITE})
    stamp = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = cache / "wheels" / f"{name}-{stamp}"
    if (folder / ".complete").is_file():
        return folder, True
    shown = " ".join(r.replace(str(wheel), "digitkiosk.whl") for r in reqs)
    log(f"{name}: pip on arm64 resolves and downloads {shown}")
    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    must(
        run(
            [
                gpy,
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                "-d",
                tmp,
                *reqs,
            ]
        ),
        f"{name}: pip download on arm64",
    )
    (tmp / ".complete").write_text(key + "\n")
    for old in (cache / "wheels").glob(f"{name}-*"):
        if old != tmp:
            shutil.rmtree(old, ignore_errors=True)
    tmp.rename(folder)
    return folder, False


def unpack(wheels: list[Path], target: Path, host_python: Path) -> None:
    """Install wheels resolved on arm64 into a --target folder (pip, without resolving again)."""
    shutil.rmtree(target, ignore_errors=True)
    cmd = [
        host_python,
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-compile",
    ]
    cmd += [
        "--only-binary=:all:",
        "--target",
        target,
        "--python-version",
        GUEST_PYTHON,
        "--implementation",
        "cp",
    ]
    platforms, abis = set(), set()
    for w in wheels:
        _, _, _, abi, plat = w.name[:-4].rsplit("-", 4)
        platforms.update(p for p in plat.split(".") if p != "any")
        abis.update(abi.split("."))
    for p in sorted(platforms):
        cmd += ["--platform", p]
    for a in sorted(abis):
        cmd += ["--abi", a]
    must(run([*cmd, *wheels], timeout=600), f"installing {len(wheels)} wheels into {target.name}")


def environment(cache: Path, gpy: Path, wheel: Path, name: str, host_python: Path) -> tuple[str, bool]:
    """PYTHONPATH of the set's arm64 environment: the project's wheel, then its dependencies."""
    folder, cached = resolve(cache, gpy, wheel, name)
    deps = cache / "site" / name
    stamp = deps / ".digitkiosk-from"
    if not (stamp.is_file() and stamp.read_text() == folder.name):
        others = [w for w in sorted(folder.glob("*.whl")) if not w.name.startswith("digitkiosk-")]
        unpack(others, deps, host_python)
        stamp.write_text(folder.name)
    return f"{cache / 'site' / 'app'}{os.pathsep}{deps}", cached


# --- inputs --------------------------------------------------------------------------------


def _idx(path: Path, offset: int) -> np.ndarray:
    import gzip

    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def write_inputs(folder: Path) -> dict:
    """Real digits written as the device's inputs: MNIST test digits as PNG photos of one digit
    and as pages holding a number; real pen digits (unseen writers) and numbers made of them."""
    from PIL import Image

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    mnist = SHARED_DATA / "mnist"
    images = _idx(mnist / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = _idx(mnist / "t10k-labels-idx1-ubyte.gz", 8)
    single = []
    for digit in range(10):  # the first test image of each digit, dark ink on light paper, 112x112
        i = int(np.flatnonzero(labels == digit)[0])
        path = f"mnist-{i:05d}-{digit}.png"
        Image.fromarray(255 - images[i]).resize((112, 112), Image.BICUBIC).save(folder / path)
        single.append(path)
    pages = []
    rng = np.random.default_rng(21)
    for n, start in enumerate((100, 200)):  # 480x640 pages: a 5-digit number, uneven light, noise
        page = np.full((480, 640), 235.0) - np.linspace(0, 50, 640)[None, :]
        for k in range(5):
            d = np.asarray(Image.fromarray(images[start + k]).resize((84, 84), Image.BICUBIC), np.float64)
            page[190 : 190 + 84, 80 + k * 90 : 80 + k * 90 + 84] -= d * 0.7
        page += rng.normal(0, 4, page.shape)
        path = f"page-{n}-{''.join(str(labels[start + k]) for k in range(5))}.png"
        Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).save(folder / path)
        pages.append(path)
    pen = [json.loads(line) for line in (SHARED_DATA / "pendigits" / "test.jsonl").open() if line.strip()]
    lines, seen = [], {}
    for i, row in enumerate(pen):  # the first two test pen digits of each class
        if seen.get(row["label"], 0) < 2:
            seen[row["label"]] = seen.get(row["label"], 0) + 1
            lines.append({"id": f"pen-{i}-{row['label']}", "strokes": row["strokes"]})
    for n, picks in enumerate(((0, 1, 2), (3, 5, 8, 9))):  # numbers: pen digits side by side
        strokes, x0, text = [], 0.0, ""
        for p in picks:
            row = next(r for r in pen if r["label"] == p)
            xs = [pt[0] for s in row["strokes"] for pt in s]
            shift = x0 - min(xs)
            strokes += [[[pt[0] + shift, pt[1]] for pt in s] for s in row["strokes"]]
            x0 += max(xs) - min(xs) + 40
            text += str(p)
        lines.append({"id": f"pen-number-{n}-{text}", "strokes": strokes})
    (folder / "pen.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return {"single": single, "pages": pages, "strokes": "pen.jsonl"}


# --- running and comparing -------------------------------------------------------------------

# What may differ between the machines, and is reported rather than failed (README, arm64):
MAX_SCORE_STEPS = 3  # int8 scores: XNNPACK's int8 kernels are not the same code on arm64 and x86-64
MAX_INPUT_STEPS = 2  # a photo's prepared 28x28 input: OpenCV's SIMD code differs too
MAX_BOX_PX = 2


def device_runs(python: Path, name: str, inputs: dict, folder: Path, env: dict, bench: int | None) -> dict:
    """Everything the check asks of one machine and one interpreter; outputs kept as text."""
    cli = [python, "-m", "digitkiosk.device"]
    images = [*inputs["single"], *inputs["pages"]]
    answers = [python, HERE / "answers.py", "--backend", name, "--single", *inputs["single"]]
    steps = {
        "answers": [*answers, "--pages", *inputs["pages"], "--strokes", inputs["strokes"]],
        "predict": [*cli, "predict", "--json", "--backend", name, *images],
        "strokes": [*cli, "strokes", "--json", "--backend", name, inputs["strokes"]],
    }
    if bench:
        steps["bench"] = [*cli, "bench", "--backend", name, "--repeats", str(bench)]
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


def _max_diff(a, b) -> int:
    a, b = np.asarray(a), np.asarray(b)
    return int(np.abs(a - b).max()) if a.shape == b.shape else 10**6


def compare_answers(x: dict, y: dict) -> tuple[list[str], list[str]]:
    """answers.py on x86-64 (x) and arm64 (y) → (problems, differences within the bounds)."""
    problems, notes = [], []
    if y["machine"] != "aarch64":
        problems.append(f"the emulated run reports machine {y['machine']!r}, not aarch64")
    if x["model"] != y["model"]:
        problems.append(f"model differs: {_short(x['model'])} / {_short(y['model'])}")
    sx, sy = x["selftest"], y["selftest"]
    if (sx["accuracy"], sx["digits"]) != (sy["accuracy"], sy["digits"]):
        problems.append(
            f"self-test differs: {sx['accuracy']} {sx['digits']} / {sy['accuracy']} {sy['digits']}"
        )
    for key, what in (
        ("scores_int8", "the interpreter"),
        ("scores_int8_without_xnnpack", "its builtin kernels"),
    ):
        n = sum(a != b for a, b in zip(sx[key], sy[key], strict=True))
        if n:
            d = _max_diff(sx[key], sy[key])
            (notes if d <= MAX_SCORE_STEPS else problems).append(
                f"self-test, the same input: int8 scores of {what} differ for {n} of {len(sy[key])} digits, "
                f"by up to {d}"
            )
    same_in = diff_in = score_diff = same_in_diff = 0
    worst_in = worst_px = worst_score = worst_same = 0
    for a, b in zip(x["inputs"], y["inputs"], strict=True):
        labels_a, labels_b = [d["digit"] for d in a["digits"]], [d["digit"] for d in b["digits"]]
        if (a["id"], a["text"], labels_a) != (b["id"], b["text"], labels_b):
            problems.append(f"{a['id']}: x86-64 reads {a['text']!r}, arm64 {b['text']!r}")
            continue
        for da, db in zip(a["digits"], b["digits"], strict=True):
            if da["input_int8"] == db["input_int8"]:
                same_in += 1
                d = _max_diff(da["scores_int8"], db["scores_int8"])
                plain = _max_diff(da["scores_int8_without_xnnpack"], db["scores_int8_without_xnnpack"])
                same_in_diff += d > 0 or plain > 0
                worst_same = max(worst_same, d, plain)
                if max(d, plain) > MAX_SCORE_STEPS:
                    problems.append(f"{a['id']}: int8 scores differ by {max(d, plain)} on the same input")
            else:
                diff_in += 1
                ia, ib = np.array(da["input_int8"]), np.array(db["input_int8"])
                worst_in, worst_px = max(worst_in, _max_diff(ia, ib)), max(worst_px, int((ia != ib).sum()))
                if a["kind"] == "strokes" or worst_in > MAX_INPUT_STEPS:
                    problems.append(f"{a['id']}: prepared input differs by up to {_max_diff(ia, ib)} steps")
                d = _max_diff(da["scores_int8"], db["scores_int8"])
            score_diff += d > 0
            worst_score = max(worst_score, d)
    total = same_in + diff_in
    if same_in_diff:
        notes.append(
            f"{same_in_diff} of {same_in} digits given the same input: int8 scores (with or without XNNPACK) "
            f"differ by up to {worst_same}"
        )
    if score_diff:
        notes.append(
            f"int8 scores as the device computes them (XNNPACK) differ for {score_diff} of {total} digits, "
            f"by up to {worst_score}"
        )
    if diff_in:
        notes.append(
            f"{diff_in} of {total} digits (photos only): the prepared input differs (OpenCV), by up to "
            f"{worst_in} steps in up to {worst_px} of 784 pixels"
        )
    return problems, notes


def compare_cli(step: str, x: str, y: str) -> tuple[list[str], list[str]]:
    """`digitkiosk predict|strokes --json` lines: the same texts and digits; boxes and confidences
    within the bounds (and every difference counted)."""
    problems, exact = [], 0
    ra, rb = [json.loads(line) for line in x.splitlines()], [json.loads(line) for line in y.splitlines()]
    if len(ra) != len(rb):
        return [f"digitkiosk {step}: {len(ra)} answers on x86-64, {len(rb)} on arm64"], []
    for a, b in zip(ra, rb, strict=True):
        a.pop("latency_ms", None), b.pop("latency_ms", None)
        if a == b:
            exact += 1
            continue
        da, db = a.get("digits", [a]), b.get("digits", [b])
        what = a.get("path", a.get("id"))
        if (a.get("text"), a.get("error"), [d.get("digit") for d in da]) != (
            b.get("text"),
            b.get("error"),
            [d.get("digit") for d in db],
        ):
            problems.append(f"digitkiosk {step}: {what}: {_short(a)} / {_short(b)}")
            continue
        for p, q in zip(da, db, strict=True):
            if abs(p["confidence"] - q["confidence"]) > MAX_SCORE_STEPS / 256 + 1e-4:
                problems.append(
                    f"digitkiosk {step}: {what}: confidence {p['confidence']} / {q['confidence']}"
                )
            if "box" in p and _max_diff(p["box"], q["box"]) > MAX_BOX_PX:
                problems.append(f"digitkiosk {step}: {what}: box {p['box']} / {q['box']}")
    notes = []
    if exact < len(ra):
        notes.append(
            f"digitkiosk {step} --json: {exact} of {len(ra)} answers identical, the others with the same "
            "digits and confidences within the bounds"
        )
    return problems, notes


def compare(native: dict, arm: dict) -> tuple[list[str], list[str]]:
    """Every difference between the native and the arm64 runs: (problems, differences reported)."""
    problems, notes = [], []
    for step, a in arm.items():
        for side, r in (("x86-64", native.get(step, {"rc": 0})), ("arm64", a)):
            if r["rc"] != 0:
                tail = " | ".join(r["stderr"].strip().splitlines()[-3:])
                problems.append(f"{step} on {side}: {describe_exit(r['rc'])}: {tail}")
    if problems:
        return problems, notes
    p, n = compare_answers(json.loads(native["answers"]["stdout"]), json.loads(arm["answers"]["stdout"]))
    problems += p
    notes += n
    for step in ("predict", "strokes"):
        p, n = compare_cli(step, native[step]["stdout"], arm[step]["stdout"])
        problems += p
        notes += n
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
    return problems, notes


def _short(v) -> str:
    s = json.dumps(v)
    return s if len(s) < 200 else s[:197] + "..."


def prove(name: str, cache: Path, gpy: Path, wheel: Path, inputs: dict, args) -> dict:
    """One interpreter: its arm64 environment, the runs on both machines, the comparison."""
    t0 = time.perf_counter()
    host_python = NATIVE["litert"]
    pythonpath, cached = environment(cache, gpy, wheel, name, host_python)
    entry: dict = {"env_cached": cached, "env_s": round(time.perf_counter() - t0, 1)}
    log(f"{name}: running on x86-64 and on arm64 (emulated)")
    t0 = time.perf_counter()
    bench = args.bench_repeats if name == "litert" else None  # the Pi's interpreter; emulated anyway
    native = device_runs(NATIVE[name], name, inputs, cache / "inputs", {}, None)
    arm = device_runs(gpy, name, inputs, cache / "inputs", {"PYTHONPATH": pythonpath}, bench)
    entry["runs_s"] = round(time.perf_counter() - t0, 1)
    problems, notes = compare(native, arm)
    entry |= {"ok": not problems, "problems": problems, "differences": notes}
    entry["steps_wall_s"] = {k: [native.get(k, {}).get("wall_s"), arm[k]["wall_s"]] for k in arm}
    for side, runs in (("x86-64", native), ("arm64", arm)):
        if runs["answers"]["rc"] == 0:
            ans = json.loads(runs["answers"]["stdout"])
            entry[f"{side}_versions"] = {k: v for k, v in ans["versions"].items() if v}
            if side == "arm64":
                entry["inputs"] = len(ans["inputs"])
                entry["digits"] = sum(len(i["digits"]) for i in ans["inputs"])
                entry["selftest_accuracy"] = ans["selftest"]["accuracy"]
                entry["texts"] = [i["text"] for i in ans["inputs"]]
    if "bench" in arm and arm["bench"]["rc"] == 0:
        entry["arm64_bench_emulated"] = json.loads(arm["bench"]["stdout"])
    (cache / "runs").mkdir(exist_ok=True)
    for side, runs in (("x86-64", native), ("arm64", arm)):
        (cache / "runs" / f"{name}-{side}.json").write_text(json.dumps(runs, indent=1))
    log(f"{name}: {'PASS' if not problems else 'FAIL'} ({len(notes)} kinds of difference within the bounds)")
    return entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_cache = Path(os.environ.get("DIGITKIOSK_ARM64_CACHE", REPO / ".cache/arm64"))
    ap.add_argument("--cache", type=Path, default=default_cache, help=f"default {default_cache}")
    ap.add_argument("--sets", default="litert,tflite-runtime", help="interpreters to prove (default: both)")
    ap.add_argument("--bench-repeats", type=int, default=50, help="bench's timed inferences (default 50)")
    ap.add_argument(
        "--litert",
        action="append",
        default=[],
        metavar="VERSION",
        help="also try this ai-edge-litert version on arm64 (answers only, against the native run)",
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
    sets = [s for s in args.sets.split(",") if s]
    for s in sets:
        if s not in SETS:
            raise SystemExit(f"unknown set {s!r} (choose from {', '.join(SETS)})")
        if not NATIVE[s].is_file():
            raise SystemExit(f"{NATIVE[s]} missing: run `make dev-env` first")
    cache = args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    summary: dict = {"ok": False, "sets": {}, "timings_s": {}}
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
        # The interpreters side by side: emulation is one process per core at most.
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(prove, name, cache, gpy, wheel, inputs, args) for name in sets}
            for name, future in futures.items():
                try:
                    summary["sets"][name] = entry = future.result()
                    problems += [f"{name}: {p}" for p in entry["problems"]]
                except CheckError as e:
                    problems.append(f"{name}: {e}")
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


def litert_versions(versions, cache, gpy, inputs, host_python) -> dict:
    """Other ai-edge-litert releases over the `litert` set: does each create an interpreter, and
    are its answers the native run's? (A probe for the README; not part of the test suite.)"""
    deps = cache / "site" / "litert"
    native = json.loads((cache / "runs" / "litert-x86-64.json").read_text())["answers"]["stdout"]
    out = {}
    for v in versions:
        folder = cache / "wheels" / f"ai-edge-litert-{v}"
        if not any(folder.glob("*.whl")):
            must(
                run(
                    [
                        gpy,
                        "-m",
                        "pip",
                        "download",
                        "-q",
                        "--no-deps",
                        "--only-binary=:all:",
                        "-d",
                        folder,
                        f"ai-edge-litert=={v}",
                    ]
                ),
                f"pip download ai-edge-litert=={v} on arm64",
            )
        site = cache / "site" / f"ai-edge-litert-{v}"
        unpack(sorted(folder.glob("*.whl")), site, host_python)
        app = cache / "site" / "app"
        env = {"PYTHONPATH": os.pathsep.join(map(str, (app, site, deps)))}
        cmd = [gpy, HERE / "answers.py", "--backend", "litert", "--single", *inputs["single"]]
        cmd += ["--pages", *inputs["pages"], "--strokes", inputs["strokes"]]
        proc = run(cmd, env=env, cwd=cache / "inputs")
        if proc.returncode != 0:
            out[v] = f"fails: {describe_exit(proc.returncode)}"
        else:
            found, notes = compare_answers(json.loads(native), json.loads(proc.stdout))
            out[v] = f"runs; self-test {json.loads(proc.stdout)['selftest']['accuracy']:.0%}; " + (
                "; ".join(found)
                if found
                else "same digits as x86-64 (litert set); " + ("; ".join(notes) or "same int8 scores")
            )
        log(f"ai-edge-litert {v} on arm64: {out[v]}")
    return out


def report(summary: dict) -> None:
    u = summary.get("userland", {})
    cpu, cpuinfo = u.get("qemu_cpu", emulated_cpu()), u.get("cpuinfo", "a Raspberry Pi 4's")
    print(f"\narm64 check: Debian {SUITE} arm64 under qemu-user ({cpu}, {cpuinfo} /proc/cpuinfo)")
    print(f"  userland python: {u.get('python', '?')} (cached: {u.get('cached')})")
    for name, e in summary["sets"].items():
        v = e.get("arm64_versions", {})
        interp = v.get("ai-edge-litert") if name == "litert" else v.get("tflite-runtime")
        print(
            f"  {name} {interp}: {'PASS' if e['ok'] else 'FAIL'}: {e.get('inputs', '?')} inputs "
            f"({e.get('digits', '?')} digits) and the 50 self-test digits "
            f"(self-test {e.get('selftest_accuracy', 0):.0%}); numpy {v.get('numpy')}, "
            f"opencv-python-headless {v.get('opencv-python-headless')}; environment "
            f"{'cached' if e['env_cached'] else 'resolved on arm64'} {e['env_s']} s, runs {e['runs_s']} s"
        )
        for note in e.get("differences", []):
            print(f"    within bounds: {note}")
        b = e.get("arm64_bench_emulated")
        if b:
            print(
                "    bench (emulated: not a Pi's speed): cold start "
                f"{b['cold_start']['process_to_first_prediction_s']} s, one digit p50 "
                f"{b['inference_one_digit_1_thread']['p50_ms']} ms, peak RSS {b['peak_rss_mb']} MB"
            )
    for v, r in summary.get("litert_versions", {}).items():
        print(f"  ai-edge-litert {v}: {r}")
    for p in summary["problems"]:
        print(f"  PROBLEM: {p}")
    print(
        f"  {'PASS' if summary['ok'] else 'FAIL'} in {summary['timings_s']['total']} s {summary['timings_s']}"
    )


if __name__ == "__main__":
    sys.exit(main())
