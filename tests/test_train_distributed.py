"""Issue 18: training across machines, for real: two `digitkiosk-train` processes on 127.0.0.1
joined by TF_CONFIG into a MultiWorkerMirroredStrategy cluster (gRPC, ring all-reduce), the same
command line in each, a short run. The chief (worker 0) writes the run folder, worker 1 nothing;
a second run with the same worker count gives the same weights. And a bad TF_CONFIG is one line."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest

from tests.local_cluster import TRAIN, run_cluster

TIMEOUT_S = 240  # two busy cores: a run takes about 1.5 min


def _args(mnist_dir) -> list[str]:
    # A relative --out: each worker runs in its own folder, so what worker 1 writes would show.
    return ["fit", "--data", str(mnist_dir), "--limit", "2000", "--epochs", "2", "--batch-size", "64",
            "--seed", "3", "--name", "dist", "--model-version", "0.0.1", "--out", "run"]  # fmt: skip


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory, mnist_dir):
    return run_cluster(_args(mnist_dir), tmp_path_factory.mktemp("cluster"), workers=2, timeout_s=TIMEOUT_S)


def _weights(path) -> list[np.ndarray]:
    import keras

    return keras.models.load_model(path, compile=False).get_weights()


@pytest.mark.slow
def test_two_workers_on_loopback_chief_writes_the_run(cluster_run):
    chief, worker = cluster_run
    run = chief.cwd / "run"
    card = json.loads((run / "dist.json").read_text())
    assert card["training"]["distribution"] == {
        "strategy": "MultiWorkerMirroredStrategy",
        "workers": 2,
        "replicas": 2,
    }
    assert card["metrics"]["int8"]["accuracy"] > 0.6, card["metrics"]["int8"]["accuracy"]
    assert len(card["training"]["history"]["val_accuracy"]) == 2
    assert len(_weights(run / "dist.keras")) > 0
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]  # nothing half-written
    assert list(worker.cwd.iterdir()) == []  # the same --out, and nothing written there
    said = json.loads(worker.stdout.strip().splitlines()[-1])
    assert said == {"worker": 1, "strategy": "MultiWorkerMirroredStrategy", "workers": 2, "replicas": 2,
                    "wrote": None}  # fmt: skip
    # Both workers saw the same figures: synchronised batch norm, the same weights everywhere.
    assert _epochs(chief.log) == _epochs(worker.log) and len(_epochs(chief.log)) == 2


def _epochs(log: str) -> list[str]:
    """The epoch lines' figures (loss, accuracy, validation), without the time they took."""
    return re.findall(r"epoch \d+/\d+: ([^(]*)", log)


@pytest.mark.slow
def test_same_worker_count_same_weights(cluster_run, tmp_path, mnist_dir):
    again = run_cluster(_args(mnist_dir), tmp_path, workers=2, timeout_s=TIMEOUT_S)
    first = _weights(cluster_run[0].cwd / "run" / "dist.keras")
    second = _weights(again[0].cwd / "run" / "dist.keras")
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    h1 = json.loads((cluster_run[0].cwd / "run" / "dist.history.json").read_text())
    h2 = json.loads((again[0].cwd / "run" / "dist.history.json").read_text())
    assert h1 == h2


@pytest.mark.parametrize(
    ("tf_config", "said"),
    [
        ("{not json", "TF_CONFIG is not JSON"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "needs 'cluster'"),
        ('{"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}', "not host:port"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "outside"),
        (
            '{"cluster": {"ps": ["a:1"], "worker": ["b:2"]}, "task": {"type": "ps", "index": 0}}',
            "only 'chief'",
        ),
    ],
)
def test_malformed_tf_config_is_one_line(tf_config, said, tmp_path):
    r = subprocess.run(
        [str(TRAIN), "--data", str(tmp_path), "--out", str(tmp_path / "run")],
        env={"PATH": "/usr/bin:/bin", "TF_CONFIG": tf_config},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and said in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "run").exists()


def test_batch_that_does_not_split_over_the_replicas_is_refused():
    from digitkiosk.train.errors import DataError
    from digitkiosk.train.fit import TrainConfig
    from digitkiosk.train.loop import run_loop

    class TwoReplicas:
        num_replicas_in_sync = 2

    from digitkiosk.train.distribute import Placement

    x = np.zeros((10, 28, 28), np.uint8)
    with pytest.raises(DataError, match="does not split evenly over 2 replicas"):
        run_loop(Placement(TwoReplicas(), "test"), None, x, np.zeros(10, int), x, np.zeros(10, int),
                 TrainConfig(batch_size=65), 10, None)  # fmt: skip
