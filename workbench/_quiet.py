"""Keep TensorFlow's native start-up noise out of notebooks, CLI output and app pages.

On a machine without CUDA, importing TensorFlow writes CUDA-stub and oneDNN lines straight to
file descriptor 2 from C++, before absl logging is set up, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide
them, and Jupyter kernels forward that descriptor into cell outputs. This module installs an import
hook: whoever imports ``tensorflow`` first (the workbench, a notebook cell, another library), the
import runs with descriptor 2 pointed at ``/dev/null``, and so does the one-time device probe that
prints the ``cuInit`` failure. Errors still surface as Python exceptions.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

__all__ = ["install", "silenced_stderr"]

_lock = threading.Lock()


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (native writes included)."""
    with _lock:
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError):
            pass
        saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(null)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with silenced_stderr():
            self._inner.exec_module(module)
            # The first device enumeration prints the cuInit failure; do it here, silenced.
            # It does not create the runtime context, so threading and strategy set-up later
            # still work.
            config = getattr(module, "config", None)
            if config is not None and hasattr(config, "list_physical_devices"):
                config.list_physical_devices()


class _QuietFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):  # noqa: ANN001 - importlib protocol
        if fullname != "tensorflow":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Install the hook once per process (idempotent); quiet absl's own logging too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFinder())
