"""Where training runs: one `tf.distribute` strategy, chosen from the cluster and the machine.

- `TF_CONFIG` naming more than one worker (chief + workers) → `MultiWorkerMirroredStrategy`
  across those machines (ring all-reduce over gRPC; CPU or GPU);
- else more than one local GPU → `MirroredStrategy` over them;
- else the default strategy (one CPU or one GPU).

Every machine runs the same `digitkiosk-train` command line; `TF_CONFIG` alone says which task
it is. The chief (task `chief`, else `worker` 0) writes the run folder; the other workers write
nothing (`Placement.is_chief`).

`TF_CONFIG` is read at the CLI edge (`cluster_from_environment`) and handed down parsed: the
strategy gets an explicit cluster resolver, so what was checked is what is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import DataError

TASK_TYPES = ("chief", "worker")
_ADDRESS = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


class ClusterError(DataError):
    """A TF_CONFIG that does not describe a cluster this trainer can join."""


@dataclass(frozen=True)
class Cluster:
    """A parsed TF_CONFIG: every task's address and which one this process is."""

    spec: dict[str, list[str]]  # {"chief": [...], "worker": [...]}
    task_type: str
    task_index: int

    @property
    def workers(self) -> int:
        return sum(len(self.spec.get(t, [])) for t in TASK_TYPES)

    @property
    def is_chief(self) -> bool:
        if self.spec.get("chief"):
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0


def parse_tf_config(text: str) -> Cluster:
    """TF_CONFIG's JSON → Cluster, or ClusterError with one line saying what is wrong."""
    try:
        config = json.loads(text)
    except ValueError as e:
        raise ClusterError(f"TF_CONFIG is not JSON ({e})") from None
    if not isinstance(config, dict):
        raise ClusterError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ClusterError("TF_CONFIG needs 'cluster' {chief?, worker: [host:port, ...]} and 'task'")
    extra = sorted(set(cluster) - set(TASK_TYPES))
    if extra:  # parameter servers and evaluators belong to other strategies
        raise ClusterError(f"TF_CONFIG cluster: only 'chief' and 'worker' tasks are supported, not {extra}")
    spec: dict[str, list[str]] = {}
    for kind, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ClusterError(f"TF_CONFIG cluster.{kind} must be a list of 'host:port' strings")
        bad = [a for a in addresses if not _ADDRESS.match(a) or not 0 < int(a.rsplit(":", 1)[1]) < 65536]
        if bad:
            raise ClusterError(f"TF_CONFIG cluster.{kind}: not host:port: {bad[0]!r}")
        spec[kind] = list(addresses)
    if len(spec.get("chief", [])) > 1:
        raise ClusterError("TF_CONFIG cluster.chief holds one address at most")
    every = [a for kind in TASK_TYPES for a in spec.get(kind, [])]
    if not every:
        raise ClusterError("TF_CONFIG cluster names no worker")
    if len(set(every)) != len(every):
        raise ClusterError("TF_CONFIG cluster names an address twice")
    kind, index = task.get("type"), task.get("index")
    if kind not in spec or isinstance(index, bool) or not isinstance(index, int):
        raise ClusterError(
            f"TF_CONFIG task must be {{type: chief|worker, index: N}} of the cluster, not {task}"
        )
    if not 0 <= index < len(spec[kind]):
        raise ClusterError(
            f"TF_CONFIG task index {index} is outside cluster.{kind} ({len(spec[kind])} tasks)"
        )
    return Cluster(spec, kind, index)


def cluster_from_environment(env: Mapping[str, str]) -> Cluster | None:
    """The cluster TF_CONFIG describes, or None when it is unset or empty (one machine)."""
    text = env.get("TF_CONFIG", "").strip()
    return parse_tf_config(text) if text else None


@dataclass
class Placement:
    """The strategy this process trains under, and its place in the cluster."""

    strategy: Any  # tf.distribute.Strategy
    name: str
    workers: int = 1
    task_type: str = "worker"
    task_index: int = 0
    is_chief: bool = True

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    def barrier(self) -> None:
        """Wait until every worker gets here. A worker waits for the chief to finish the run
        folder before exiting: a task that leaves early is taken by the cluster's coordination
        service for a crashed one, and the chief's last steps would fail."""
        if self.workers > 1:
            import tensorflow as tf

            one = self.strategy.run(lambda: tf.constant(1.0))
            self.strategy.reduce(tf.distribute.ReduceOp.SUM, one, axis=None)

    def card_entry(self) -> dict:
        """For the model card: how the model was trained, which is part of what it is."""
        return {"strategy": self.name, "workers": self.workers, "replicas": self.replicas}


def place(cluster: Cluster | None) -> Placement:
    """Create the strategy. Call it before TensorFlow does anything else in the process:
    MultiWorkerMirroredStrategy must be set up before the runtime is initialised."""
    import tensorflow as tf

    if cluster is not None and cluster.workers > 1:
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(cluster.spec),
            task_type=cluster.task_type,
            task_id=cluster.task_index,
            rpc_layer="grpc",
        )
        options = tf.distribute.experimental.CommunicationOptions(
            # RING: NCCL needs GPUs, and RING is the implementation that works on any device.
            # No timeout_seconds: with one, TensorFlow 2.21 leaves a thread behind per collective
            # (thousands a minute, until thread creation fails). A worker that dies is noticed by
            # the coordination service's heartbeats instead, and the others fail.
            implementation=tf.distribute.experimental.CommunicationImplementation.RING,
        )
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=resolver, communication_options=options
        )
        return Placement(
            strategy,
            "MultiWorkerMirroredStrategy",
            workers=cluster.workers,
            task_type=cluster.task_type,
            task_index=cluster.task_index,
            is_chief=cluster.is_chief,
        )
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return Placement(tf.distribute.MirroredStrategy(), "MirroredStrategy")
    return Placement(tf.distribute.get_strategy(), "default")


__all__ = ["Cluster", "ClusterError", "Placement", "cluster_from_environment", "parse_tf_config", "place"]
