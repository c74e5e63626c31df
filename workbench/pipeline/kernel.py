"""The kernel manager stage notebooks run under.

* Transport over Unix sockets in a private temporary folder, not TCP ports: two runs started
  at the same moment cannot pick the same free port (with TCP they could, and one kernel died
  with "Address already in use"), and no port is opened at all.
* The kernel process's own output goes to a log file in the step folder, so its warnings stay
  out of the CLI; cell outputs are unaffected.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

__all__ = ["kernel_manager_logging_to"]


class _StepKernelManager(AsyncKernelManager):
    log_path: str = ""

    def __init__(self, **kwargs: Any) -> None:
        self._ipc_dir = tempfile.mkdtemp(prefix="wb-kernel-")
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(Path(self._ipc_dir) / "k"))
        super().__init__(**kwargs)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if not self.log_path:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        handle = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps its own descriptor
        kw.setdefault("stdout", handle)
        kw.setdefault("stderr", handle)
        try:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            handle.close()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)


def kernel_manager_logging_to(path: Path) -> type[AsyncKernelManager]:
    """A kernel manager class whose kernels talk over IPC and log their process output to
    ``path``."""
    return type("StepKernelManager", (_StepKernelManager,), {"log_path": str(path)})
