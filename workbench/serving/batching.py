"""Dynamic batching with TF Serving's batching parameters.

Requests (tasks) wait in one queue per model version and signature; ``num_batch_threads``
worker threads, shared by all queues as in TF Serving's shared batch scheduler, take up to
``max_batch_size`` examples at once — as soon as a batch is full, or when its oldest task has
waited ``batch_timeout_micros``. A batch is padded up to the next of ``allowed_batch_sizes``.
A queue already holding ``max_enqueued_batches`` batches refuses new tasks with
RESOURCE_EXHAUSTED (HTTP 429).

Without batching, :class:`DirectRunner` runs each request by itself on a thread pool.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from workbench.serving.config import BatchingOptions
from workbench.serving.metrics import BATCH_SIZE, QUEUING_LATENCY, RUNTIME_LATENCY, Metrics
from workbench.serving.status import ServingError

__all__ = ["BatchScheduler", "DirectRunner", "Task"]

log = logging.getLogger(__name__)

Callback = Callable[[Any, BaseException | None], None]


class Task:
    __slots__ = ("callback", "enqueued", "inputs", "size")

    def __init__(self, inputs: dict[str, np.ndarray], size: int, callback: Callback) -> None:
        self.inputs = inputs
        self.size = size
        self.callback = callback
        self.enqueued = time.perf_counter()


class _Queue:
    def __init__(self, key: tuple, run: Callable[[dict], dict], model: str) -> None:
        self.key = key
        self.run = run
        self.model = model
        self.tasks: deque[Task] = deque()
        self.size = 0
        self.closed = False
        self.in_flight = 0


class BatchScheduler:
    """Shared scheduler: many queues, ``num_batch_threads`` workers."""

    def __init__(self, options: BatchingOptions, metrics: Metrics | None = None) -> None:
        self.options = options
        self.metrics = metrics or Metrics()
        self._cond = threading.Condition()
        self._queues: dict[tuple, _Queue] = {}
        self._stopping = False
        self._timeout = options.batch_timeout_micros / 1e6
        self._threads = [threading.Thread(target=self._work, name=f"batch-{i}", daemon=True)
                         for i in range(options.num_batch_threads)]
        for t in self._threads:
            t.start()

    # -- queues --------------------------------------------------------------------------------
    def queue(self, key: tuple, run: Callable[[dict], dict], model: str) -> tuple:
        with self._cond:
            if key not in self._queues or self._queues[key].closed:
                self._queues[key] = _Queue(key, run, model)
        return key

    def close(self, key: tuple, *, timeout: float = 30.0) -> None:
        """Stop taking tasks for ``key``, finish those already queued, then drop the queue."""
        deadline = time.monotonic() + timeout
        with self._cond:
            q = self._queues.get(key)
            if q is None:
                return
            q.closed = True
            self._cond.notify_all()
            while (q.tasks or q.in_flight) and time.monotonic() < deadline:
                self._cond.wait(0.05)
            self._queues.pop(key, None)

    def submit(self, key: tuple, task: Task) -> None:
        opts = self.options
        if task.size > opts.max_batch_size:
            raise ServingError("INVALID_ARGUMENT",
                               f"Task size {task.size} is larger than maximum input batch size "
                               f"{opts.max_batch_size}",
                               hint="send at most max_batch_size examples per request")
        with self._cond:
            q = self._queues.get(key)
            if q is None or q.closed:
                raise ServingError("UNAVAILABLE", "the model version is being unloaded; "
                                   "retry the request")
            batches = -(-(q.size + task.size) // opts.max_batch_size)
            if batches > opts.max_enqueued_batches:
                raise ServingError("RESOURCE_EXHAUSTED",
                                   f"The batch scheduling queue to which this task was "
                                   f"submitted is full ({opts.max_enqueued_batches} batches "
                                   f"of up to {opts.max_batch_size})",
                                   hint="slow down, or raise max_enqueued_batches")
            q.tasks.append(task)
            q.size += task.size
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=5)

    # -- workers -------------------------------------------------------------------------------
    def _ready(self, now: float) -> tuple[_Queue | None, float]:
        """The queue to serve next (full, or oldest task past the timeout) and how long to
        wait when none is ready."""
        best, wait = None, 3600.0
        limit = self.options.max_batch_size
        for q in self._queues.values():
            if not q.tasks:
                continue
            age = now - q.tasks[0].enqueued
            if q.size >= limit or age >= self._timeout or q.closed:
                if best is None or q.tasks[0].enqueued < best.tasks[0].enqueued:
                    best = q
            else:
                wait = min(wait, self._timeout - age)
        return best, wait

    def _work(self) -> None:
        limit = self.options.max_batch_size
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    q, wait = self._ready(time.perf_counter())
                    if q is not None:
                        break
                    self._cond.wait(wait)
                batch: list[Task] = []
                size = 0
                while q.tasks and size + q.tasks[0].size <= limit:
                    t = q.tasks.popleft()
                    batch.append(t)
                    size += t.size
                q.size -= size
                q.in_flight += 1
            try:
                self._run(q, batch, size)
            finally:
                with self._cond:
                    q.in_flight -= 1
                    self._cond.notify_all()

    def _run(self, q: _Queue, batch: list[Task], size: int) -> None:
        started = time.perf_counter()
        model = (("model_name", q.model),)
        for t in batch:
            self.metrics.observe(QUEUING_LATENCY, model, (started - t.enqueued) * 1e6)
        padded = self._padded_size(size)
        try:
            if len(batch) == 1 and padded == size:
                inputs = batch[0].inputs
            else:
                inputs = {k: np.concatenate([t.inputs[k] for t in batch])
                          for k in batch[0].inputs}
                if padded > size:
                    inputs = {k: np.concatenate([v, np.repeat(v[:1], padded - size, axis=0)])
                              for k, v in inputs.items()}
            outputs = q.run(inputs)
        except BaseException as err:  # noqa: BLE001 - every task learns why its batch failed
            for t in batch:
                _safe(t.callback, None, err)
            return
        self.metrics.observe(RUNTIME_LATENCY, model, (time.perf_counter() - started) * 1e6)
        self.metrics.observe(BATCH_SIZE, model, float(padded))
        offset = 0
        for t in batch:
            part = {k: (v[offset:offset + t.size] if v.ndim and v.shape[0] == padded else v)
                    for k, v in outputs.items()}
            offset += t.size
            _safe(t.callback, part, None)

    def _padded_size(self, size: int) -> int:
        sizes = self.options.allowed_batch_sizes
        if not sizes:
            return size
        i = bisect.bisect_left(sizes, size)
        return sizes[i] if i < len(sizes) else size


class DirectRunner:
    """No batching: each task runs alone on a small thread pool."""

    def __init__(self, threads: int = 4, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="run")
        self._runs: dict[tuple, tuple[Callable[[dict], dict], str]] = {}

    def queue(self, key: tuple, run: Callable[[dict], dict], model: str) -> tuple:
        self._runs[key] = (run, model)
        return key

    def close(self, key: tuple, *, timeout: float = 30.0) -> None:
        self._runs.pop(key, None)

    def submit(self, key: tuple, task: Task) -> None:
        entry = self._runs.get(key)
        if entry is None:
            raise ServingError("UNAVAILABLE", "the model version is being unloaded; retry")
        run, model = entry

        def job() -> None:
            started = time.perf_counter()
            try:
                out = run(task.inputs)
            except BaseException as err:  # noqa: BLE001
                _safe(task.callback, None, err)
                return
            self.metrics.observe(RUNTIME_LATENCY, (("model_name", model),),
                                 (time.perf_counter() - started) * 1e6)
            _safe(task.callback, out, None)

        self._pool.submit(job)

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _safe(callback: Callback, result: Any, error: BaseException | None) -> None:
    try:
        callback(result, error)
    except Exception:  # noqa: BLE001 - a broken callback must not kill a batch thread
        log.exception("request callback failed")
