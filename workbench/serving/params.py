"""The parameters of stage 06 (serving), declared once (see :mod:`workbench.params`)."""

from __future__ import annotations

from workbench.params import StageParams, param
from workbench.stages import SERVING

__all__ = ["CANARY_ACTIONS", "ServingParams"]

CANARY_ACTIONS = ("auto", "promote", "rollback", "keep")


class ServingParams(StageParams):
    STAGE = SERVING

    step: str = param(SERVING, "step name inside the run")
    model_name: str = param("", "model name in the repository; empty: the dataset's name")
    repository: str = param("", "model repository folder; empty: <project>/serving")
    target: str = param("local", "local (this package's server); docker/kubernetes: workbench "
                        "serve manifests", choices=("local", "docker", "kubernetes"))
    rest_port: int = param(8501, "REST port of the local server (0: any free port)")
    grpc_port: int = param(8500, "gRPC port of the local server (0: any free port)")
    keep: int = param(5, "versions kept in the repository (labelled ones always stay)")
    token: str = param("", 'bearer token the server requires; "auto" generates one; empty: '
                       "none")
    public_key: str = param("", "require exports signed by this Ed25519 public key; empty: "
                            "integrity only")
    parity_rows: int = param(200, "eval examples compared with the exported SavedModel")
    parity_tolerance: float = param(1e-05, "largest allowed |served - exported| per output "
                                    "value")
    load_seconds: int = param(10, "load test duration (0: no load test)")
    concurrency: int = param(32, "concurrent connections of the load test")
    load_tool: str = param("auto", 'wrk when installed, else the built-in client; or "wrk" / '
                           '"python"', choices=("auto", "wrk", "python"))
    canary_share: float = param(0.2, "share of the canary comparison requests sent to the "
                                "canary")
    canary_requests: int = param(200, "examples sent in the canary comparison")
    canary_action: str = param("auto", "auto, promote, rollback or keep",
                               choices=CANARY_ACTIONS)
    latency_budget_ms: float = param(0.0, "gate on the load test's p99 (0: no budget)")
    stop_server: bool = param(True, "stop the server at the end if this notebook started it")

    def check(self) -> None:
        if self.keep < 1:
            raise self.fail("keep", "at least one version must be kept", "e.g. keep=5")
        if self.parity_rows < 1:
            raise self.fail("parity_rows", "at least one example is needed",
                            "set parity_rows to 1 or more")
        if not 0 < self.canary_share < 1:
            raise self.fail("canary_share", "must be between 0 and 1",
                            "e.g. 0.2 sends a fifth of the requests to the canary")
        if self.load_seconds < 0 or self.concurrency < 1:
            raise self.fail("load_seconds", "must be 0 or more, with concurrency 1 or more",
                            "e.g. load_seconds=10, concurrency=32")
