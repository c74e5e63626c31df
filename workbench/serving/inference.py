"""Running requests on loaded versions, shared by the REST and gRPC front ends."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import numpy as np

from workbench.serving.batching import Task
from workbench.serving.manager import VersionState
from workbench.serving.servable import CLASSIFY, REGRESS, Signature
from workbench.serving.status import ServingError, invalid

__all__ = ["Inference", "as_serving_error", "classifications", "regressions"]

_TF_CODES = {1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
             5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED",
             8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 10: "ABORTED",
             11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
             15: "DATA_LOSS", 16: "UNAUTHENTICATED"}


def as_serving_error(err: BaseException) -> ServingError:
    """Any failure as a ServingError with the gRPC code TF Serving would use."""
    if isinstance(err, ServingError):
        return err
    code = getattr(err, "error_code", None)
    if isinstance(code, int) and code in _TF_CODES:  # tf.errors.OpError
        message = getattr(err, "message", str(err)).strip().splitlines()[0][:500]
        return ServingError(_TF_CODES[code], message)
    if isinstance(err, (ValueError, TypeError)):
        # signature calls with unconvertible values raise these before running
        return invalid(f"{type(err).__name__}: {str(err)[:500]}")
    return ServingError("INTERNAL", f"{type(err).__name__}: {str(err)[:500]}")


class Inference:
    def __init__(self, runner: Any, timeout_s: float = 30.0) -> None:
        self.runner = runner
        self.timeout_s = timeout_s

    def _key(self, vs: VersionState, sig: Signature) -> tuple:
        key = vs.keys.get(sig.name)
        if key is None:
            raise ServingError("UNAVAILABLE", f"version {vs.version} is being unloaded; retry")
        return key

    async def run_async(self, vs: VersionState, sig: Signature, arrays: dict[str, np.ndarray],
                        n: int) -> dict[str, np.ndarray]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def done(result: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, fut, result, error)

        self.runner.submit(self._key(vs, sig), Task(arrays, n, done))
        try:
            return await asyncio.wait_for(fut, self.timeout_s)
        except asyncio.TimeoutError as err:  # noqa: UP041 - distinct from TimeoutError on 3.10
            raise ServingError("DEADLINE_EXCEEDED",
                               f"request did not finish within {self.timeout_s:g} s") from err

    def run_sync(self, vs: VersionState, sig: Signature, arrays: dict[str, np.ndarray],
                 n: int, timeout: float | None = None) -> dict[str, np.ndarray]:
        fut: concurrent.futures.Future = concurrent.futures.Future()

        def done(result: Any, error: BaseException | None) -> None:
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(result)

        self.runner.submit(self._key(vs, sig), Task(arrays, n, done))
        try:
            return fut.result(timeout or self.timeout_s)
        except concurrent.futures.TimeoutError as err:
            raise ServingError("DEADLINE_EXCEEDED", "request did not finish in time") from err


def _settle(fut: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


def require_method(sig: Signature, method: str) -> None:
    if sig.method != method:
        raise invalid(f"Expected {method.rsplit('/', 1)[-1]} signature method_name to be "
                      f"{method}. Was: {sig.method} (signature '{sig.name}')")


def example_input(sig: Signature) -> str:
    if len(sig.inputs) != 1:
        raise invalid(f"signature '{sig.name}' must take one input of serialized tf.Examples")
    return next(iter(sig.inputs))


def classifications(outputs: dict[str, np.ndarray]) -> list[list[tuple[str, float]]]:
    classes = outputs.get("classes")
    scores = outputs.get("scores")
    if classes is None and scores is None:
        raise ServingError("INTERNAL", "classify signature returned neither 'classes' nor "
                           "'scores'")
    n = len(scores) if scores is not None else len(classes)
    out = []
    for i in range(n):
        row_s = np.atleast_1d(scores[i]) if scores is not None else None
        row_c = np.atleast_1d(classes[i]) if classes is not None else None
        k = len(row_s) if row_s is not None else len(row_c)
        out.append([((row_c[j].decode("utf-8", "replace") if isinstance(row_c[j], bytes)
                      else str(row_c[j])) if row_c is not None else "",
                     float(row_s[j]) if row_s is not None else 0.0) for j in range(k)])
    return out


def regressions(outputs: dict[str, np.ndarray]) -> list[float]:
    values = outputs.get("outputs")
    if values is None:
        raise ServingError("INTERNAL", "regress signature returned no 'outputs'")
    return [float(v) for v in np.asarray(values).reshape(len(values), -1)[:, 0]]


__all__ += ["CLASSIFY", "REGRESS", "example_input", "require_method"]
