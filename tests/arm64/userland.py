"""The arm64 check's machinery (check.py): the Debian arm64 userland under qemu-user, the
project's wheel, and the arm64 environments resolved by pip running on arm64; all cached."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from compare import describe_exit

REPO = Path(__file__).resolve().parent.parent.parent
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
