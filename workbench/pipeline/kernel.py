"""The kernel manager stage notebooks run under: its process output goes to a log file in the
step folder (the kernel's own warnings stay out of the CLI; cell outputs are unaffected)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

__all__ = ["kernel_manager_logging_to"]


class _LoggingKernelManager(AsyncKernelManager):
    log_path: str = ""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if self.log_path:
            handle = open(self.log_path, "ab")  # noqa: SIM115 - owned by the kernel process
            kw.setdefault("stdout", handle)
            kw.setdefault("stderr", handle)
            try:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                handle.close()  # the child has its own descriptor now
        return await super()._async_launch_kernel(kernel_cmd, **kw)


def kernel_manager_logging_to(path: Path) -> type[AsyncKernelManager]:
    """A kernel manager class whose kernels write their process output to ``path``."""
    return type("StepKernelManager", (_LoggingKernelManager,), {"log_path": str(path)})
