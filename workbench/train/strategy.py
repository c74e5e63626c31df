"""Distribution strategies and numeric precision, chosen by parameters.

``strategy``: ``default`` (one device), ``mirrored`` (all local devices), ``multi_worker``
(``tf.distribute.MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG``; every worker
runs the same training, worker 0 is the chief that writes results). ``precision``: ``float32``,
``mixed_float16`` or ``mixed_bfloat16`` (the output layer stays float32).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workbench.errors import ConfigError

__all__ = ["PRECISIONS", "STRATEGIES", "StrategyInfo", "make_strategy", "precision_policy"]

STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclass
class StrategyInfo:
    strategy: Any
    name: str
    replicas: int
    workers: int = 1
    task_index: int = 0

    @property
    def is_chief(self) -> bool:
        return self.task_index == 0

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "replicas": self.replicas, "workers": self.workers,
                "task_index": self.task_index}


def _tf_config() -> dict[str, Any]:
    text = os.environ.get("TF_CONFIG", "")
    if not text:
        raise ConfigError(
            "strategy 'multi_worker' needs the cluster in the TF_CONFIG environment variable",
            hint='set TF_CONFIG=\'{"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}\' on every worker, and start the other '
            "workers with: python -m workbench.train.worker --run RUN",
            parameter="strategy")
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        index = int(config["task"]["index"])
        if config["task"].get("type", "worker") not in ("worker", "chief"):
            raise ValueError(f"task type {config['task'].get('type')!r}")
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"TF_CONFIG is not a usable cluster description: {err}",
                          hint="it needs cluster.worker (a list of host:port) and task.index",
                          parameter="strategy") from err
    return {"workers": list(workers), "index": index}


@functools.cache
def _multi_worker_class() -> type:
    import tensorflow as tf

    class _MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """``MultiWorkerMirroredStrategy`` whose ``reduce`` accepts what Keras 3 passes it.

        Keras 3's ``fit`` reduces a nested data batch and scalar metrics with ``axis=0``;
        the collective implementation takes one tensor with that axis, so ``fit`` fails under
        this strategy (keras-team/keras#20585). Reducing leaf by leaf, and scalars over
        replicas only, gives the values Keras expects.
        """

        def reduce(self, reduce_op: Any, value: Any, axis: Any) -> Any:
            parent = super()
            if tf.nest.is_nested(value):
                return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis), value)
            local = (self.experimental_local_results(value)[0]
                     if isinstance(value, tf.distribute.DistributedValues) else value)
            if getattr(local, "dtype", None) == tf.string:
                return local  # only its shape is used (Keras' symbolic build)
            if axis is not None and getattr(local.shape, "rank", None) == 0:
                axis = None
            return parent.reduce(reduce_op, value, axis)

    return _MultiWorkerStrategy


def make_strategy(name: str) -> StrategyInfo:
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy '{name}'",
                          hint=f"use one of: {', '.join(STRATEGIES)}", parameter="strategy")
    import tensorflow as tf

    if name == "default":
        strategy = tf.distribute.get_strategy()
        return StrategyInfo(strategy, name, 1)
    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        return StrategyInfo(strategy, name, strategy.num_replicas_in_sync)
    cluster = _tf_config()
    strategy = _multi_worker_class()()
    return StrategyInfo(strategy, name, strategy.num_replicas_in_sync,
                        workers=len(cluster["workers"]), task_index=cluster["index"])


@contextlib.contextmanager
def precision_policy(name: str) -> Iterator[None]:
    """Build layers under a Keras dtype policy, and restore the previous one afterwards."""
    if name not in PRECISIONS:
        raise ConfigError(f"unknown precision '{name}'",
                          hint=f"use one of: {', '.join(PRECISIONS)}", parameter="precision")
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
