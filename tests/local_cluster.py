"""Run `digitkiosk-train` as a real multi-worker cluster on 127.0.0.1: one process per worker,
each with its own TF_CONFIG, working folder and log, the same command line for all. Used by the
distributed-training test and tests/benchmarks/measure_distributed.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TRAIN = Path(sys.executable).parent / "digitkiosk-train"


class ClusterFailed(AssertionError):
    """A worker failed or the cluster ran out of time: one line, the worker's last words."""


@dataclass
class WorkerRun:
    index: int
    cwd: Path
    returncode: int
    stdout: str
    log: str


def free_ports(n: int) -> list[int]:
    """n ports free on 127.0.0.1 now (held together while choosing, so they differ)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_config(ports: list[int], index: int) -> str:
    workers = [f"127.0.0.1:{p}" for p in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def _last_words(log: str) -> str:
    lines = [ln for ln in log.splitlines() if ln.strip() and "TensorSpec" not in ln]
    return lines[-1][:300] if lines else "(no output)"


def run_cluster(args: list[str], base: Path, workers: int, timeout_s: float) -> list[WorkerRun]:
    """Start `workers` processes of `digitkiosk-train ARGS` (workers == 1: one plain process,
    no TF_CONFIG), each in base/worker-I, and wait for all. A worker exiting non-zero stops the
    others at once; so does the timeout. → each worker's run, or ClusterFailed."""
    ports = free_ports(workers)
    procs = []
    for i in range(workers):
        cwd = base / f"worker-{i}"
        cwd.mkdir(parents=True)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("TF_CONFIG", None)
        if workers > 1:
            env["TF_CONFIG"] = tf_config(ports, i)
        log = (cwd.parent / f"worker-{i}.log").open("w")
        out = (cwd.parent / f"worker-{i}.out").open("w")
        procs.append(
            (subprocess.Popen([str(TRAIN), *args], cwd=cwd, env=env, stdout=out, stderr=log), log, out)
        )
    deadline = time.monotonic() + timeout_s
    timed_out, stopped = False, set()
    try:
        while any(p.poll() is None for p, _, _ in procs):
            if any(p.returncode not in (None, 0) for p, _, _ in procs):
                break  # one failed: the others would wait for it until their collectives time out
            if time.monotonic() > deadline:
                timed_out = True
                break
            time.sleep(0.5)
    finally:
        for i, (p, log, out) in enumerate(procs):
            if p.poll() is None:
                p.kill()
                stopped.add(i)
            p.wait()
            log.close()
            out.close()
    runs = [
        WorkerRun(
            i,
            base / f"worker-{i}",
            p.returncode,
            (base / f"worker-{i}.out").read_text(),
            (base / f"worker-{i}.log").read_text(),
        )
        for i, (p, _, _) in enumerate(procs)
    ]
    # Every worker that failed, in one line: the first to fail is not always the one that knows
    # why (a worker that dies makes the others' collectives fail too).
    why = [f"worker {r.index} exited with {r.returncode}: {_last_words(r.log)}"
           for r in runs if r.returncode and r.index not in stopped]  # fmt: skip
    if timed_out:
        why.insert(0, f"the cluster did not finish within {timeout_s:.0f} s")
    if why:
        raise ClusterFailed("; ".join(why))
    return runs
