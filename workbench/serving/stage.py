"""Stage 06: deploy the run's export to TF Serving and check it.

The notebook opens a :class:`ServingStage` and calls its steps in order — start the local
server, push, smoke test, parity, load test, canary, promote or roll back, stop — then
``finish`` saves ``serving_report`` and records the ``serving`` gate. In view mode every step
returns what the step saved and no server is started.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ParameterError
from workbench.runs.step import Step
from workbench.serving import checks
from workbench.serving.control import CANARY, STABLE, Controller
from workbench.serving.params import ServingParams
from workbench.serving.process import ServerHandle, running, start_local, stop
from workbench.serving.repository import Repository
from workbench.stages import DATA_VALIDATION, EXPORT

__all__ = ["ServingParams", "ServingStage"]

log = logging.getLogger(__name__)


@dataclass
class ServingStage:
    step: Step
    params: ServingParams = field(default_factory=ServingParams)
    report: dict[str, Any] = field(default_factory=dict)
    repo: Repository | None = None
    handle: ServerHandle | None = None
    started_server: bool = False
    model: str = ""
    export_dir: Path | None = None
    _examples: list[dict] | None = None
    _inputs: dict[str, str] | None = None

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, step: Step, params: ServingParams | None = None) -> ServingStage:
        """Compute mode: start (or reuse) the repository's local server. View mode: load the
        saved report."""
        params = params or ServingParams()
        if not step.computing:
            return cls(step, params, report=step.load("serving_report"))
        target = params.target
        if target != "local":
            raise ParameterError(f"target '{target}' cannot run checks from the notebook here",
                                 hint="use target='local'; docker and kubernetes files come "
                                      "from workbench serve manifests")
        repo = Repository.default(params.repository)
        repo.init()
        card = step.load(f"{DATA_VALIDATION}/data_card") if step.has(
            f"{DATA_VALIDATION}/data_card") else {}
        from workbench.serving.ops import default_model_name

        model = params.model_name or default_model_name(repo, card)
        existing = running(repo)
        handle = existing or start_local(repo, rest_port=params.rest_port,
                                         grpc_port=params.grpc_port, token=params.token or None,
                                         poll_seconds=1.0, config_poll_seconds=1.0,
                                         public_key_path=params.public_key)
        stage = cls(step, params, repo=repo, handle=handle, started_server=existing is None,
                    model=model)
        stage.report = {"model": model, "repository": str(repo.root), "target": target,
                        "server": {"rest": handle.rest_url,
                                   "grpc": f"{handle.host}:{handle.grpc_port}",
                                   "reused": existing is not None}, "keep": params.keep}
        return stage

    @property
    def computing(self) -> bool:
        return self.step.computing

    def _saved(self, key: str) -> Any:
        return self.report.get(key)

    def _controller(self) -> Controller:
        return Controller(self.repo, self.handle.rest(), self.handle.grpc())

    # -- steps ---------------------------------------------------------------------------------
    def push(self, *, label: str = "auto") -> dict[str, Any]:
        """Push the run's 04_export/saved_model as the next version; serve it as stable (first
        version) or as canary beside the stable one."""
        if not self.computing:
            return self._saved("push")
        # step.path checks the artifact against the run's record (hashing it at most once per
        # content in the run), so the push copies it without hashing it again
        self.export_dir = self.step.path(f"{EXPORT}/saved_model")
        result = self.repo.push(self.export_dir, self.model, keep=self.report["keep"],
                                public_key_path=self.params.public_key or None, verified=True)
        change = self._controller().deploy(self.model, result.version, label=label)
        out = {**result.to_dict(), "change": change.to_dict(),
               "label": CANARY if CANARY in change.labels_after and
               change.labels_after[CANARY] == result.version else STABLE}
        self.report["push"] = out
        return out

    def _label(self) -> str:
        return self.report.get("push", {}).get("label", STABLE)

    def _eval_examples(self, limit: int) -> tuple[list[dict], dict[str, str]]:
        if self._inputs is None:
            self._inputs = checks.signature_inputs(self.handle.rest(), self.model,
                                                   label=self._label())
        if self._examples is None or len(self._examples) < limit:
            table = self.step.load(f"{DATA_VALIDATION}/eval")
            self._examples = checks.examples_from_table(table, self._inputs, limit)
        return self._examples[:limit], self._inputs

    def smoke(self) -> dict[str, Any]:
        if not self.computing:
            return self._saved("smoke")
        examples, _ = self._eval_examples(1)
        result = checks.smoke(self.handle.rest(), self.handle.grpc(), self.model, examples[0],
                              label=self._label())
        self.report["smoke"] = result
        return result

    def parity(self) -> dict[str, Any]:
        if not self.computing:
            return self._saved("parity")
        examples, inputs = self._eval_examples(self.params.parity_rows)
        result = checks.parity(self.handle.rest(), self.model, self.export_dir, examples,
                               inputs, tolerance=self.params.parity_tolerance,
                               label=self._label(),
                               grpc=self.handle.grpc())
        self.report["parity"] = result
        return result

    def load_test(self) -> dict[str, Any] | None:
        """A load test from a separate process (wrk when installed) on the pushed version."""
        if not self.computing:
            return self._saved("load_test")
        seconds, concurrency = self.params.load_seconds, self.params.concurrency
        if seconds <= 0:
            self.report["load_test"] = None
            return None
        from workbench.serving.client import model_path
        from workbench.serving.loadtest import rest_load

        examples, _ = self._eval_examples(1)
        url = (f"{self.handle.rest_url}{model_path(self.model, label=self._label())}"
               ":predict")
        body = checks.json_body({"instances": examples[:1]})
        result = rest_load(url, body, concurrency=concurrency, seconds=seconds,
                           token=self.handle.token, tool=self.params.load_tool).to_dict()
        self.report["load_test"] = result
        self.step.log_metrics(serving_rps=round(result["throughput"], 1),
                              serving_p99_ms=round(result["latency_ms"]["p99"], 2))
        return result

    def canary(self) -> dict[str, Any]:
        """Compare the canary with stable (skipped when the pushed version became stable)."""
        if not self.computing:
            return self._saved("canary")
        share, requests = self.params.canary_share, self.params.canary_requests
        labels = self.repo.labels(self.model)
        if CANARY not in labels:
            result = {"skipped": f"version {labels.get(STABLE)} is the first stable version "
                                 "of this model: no canary to compare"}
        else:
            examples, _ = self._eval_examples(requests)
            result = checks.canary_compare(self.handle.rest(), self.model, examples,
                                           share=share)
            result.update(stable=labels[STABLE], canary=labels[CANARY])
        self.report["canary"] = result
        return result

    def decide(self) -> dict[str, Any]:
        """Promote the canary, roll it back, or keep it, as ``canary_action`` says (``auto``:
        promote when it answered without errors, passed smoke and parity and its p95 is within
        2× stable's + 20 ms)."""
        if not self.computing:
            return self._saved("decision")
        action = self.params.canary_action
        canary = self.report.get("canary") or {}
        if "skipped" in canary:
            decision = {"action": "none", "why": canary["skipped"]}
        else:
            why = []
            if action == "auto":
                lat = canary["latency_ms"]
                ok = (sum(canary["errors"].values()) == 0
                      and self.report.get("smoke", {}).get("passed", False)
                      and self.report.get("parity", {}).get("passed", False))
                p95_s = lat["stable"].get("p95")
                p95_c = lat["canary"].get("p95")
                if p95_s is not None and p95_c is not None and p95_c > 2 * p95_s + 20:
                    ok = False
                    why.append(f"canary p95 {p95_c:.1f} ms vs stable {p95_s:.1f} ms")
                action = "promote" if ok else "rollback"
                why.insert(0, "canary healthy" if ok else "canary failed a check")
            decision = {"action": action, "why": "; ".join(why) or f"asked for {action}"}
            decision["change"] = self.apply(action) if action != "keep" else None
        self.report["decision"] = decision
        return decision

    def apply(self, action: str) -> dict[str, Any]:
        """Promote or roll back now (also used by the widget's buttons)."""
        ctl = self._controller()
        change = ctl.promote(self.model) if action == "promote" else ctl.rollback(self.model)
        self.report.setdefault("actions", []).append(change.to_dict())
        return change.to_dict()

    def status(self) -> dict[str, Any]:
        if not self.computing:
            return self._saved("status")
        status = {"labels": self.repo.labels(self.model),
                  "versions_on_disk": self.repo.versions(self.model),
                  "served": self.handle.rest().status(self.model)}
        self.report["status"] = status
        return status

    @property
    def keeps_serving(self) -> bool:
        """Whether the server stays up after the notebook (so its buttons can act on it)."""
        return self.computing and not (self.params.stop_server and self.started_server)

    def stop(self) -> bool:
        """Stop the server if this stage started it and ``stop_server`` says so."""
        if not self.computing or not self.started_server or not self.params.stop_server:
            return False
        stop(self.repo)
        self.report["server"]["stopped"] = True
        return True

    def finish(self) -> dict[str, Any]:
        """Save ``serving_report`` and record the ``serving`` gate."""
        if not self.computing:
            return self.report
        latency_budget_ms = self.params.latency_budget_ms
        reasons, passed = [], True
        smoke = self.report.get("smoke") or {}
        if not smoke.get("passed"):
            passed = False
            failed = [f"{c['check']}: {c.get('error')}" for c in smoke.get("checks", [])
                      if not c["passed"]]
            reasons.append("the smoke test failed: " + ("; ".join(failed) or "not run"))
        par = self.report.get("parity") or {}
        if not par.get("passed"):
            passed = False
            reasons.append(f"parity failed: {par.get('mismatched_examples', '?')} of "
                           f"{par.get('examples', '?')} examples differ from the exported "
                           f"SavedModel by more than {par.get('tolerance')} (max abs diff "
                           f"{par.get('max_abs_diff')}); gRPC diff {par.get('grpc_max_abs_diff')}"
                           if par else "parity was not checked")
        load = self.report.get("load_test")
        if latency_budget_ms > 0:
            if not load:
                passed = False
                reasons.append(f"a latency budget of {latency_budget_ms} ms is set but no "
                               "load test ran (load_seconds=0)")
            elif load["latency_ms"]["p99"] > latency_budget_ms:
                passed = False
                reasons.append(f"p99 latency {load['latency_ms']['p99']:.1f} ms under "
                               f"{load['concurrency']} concurrent clients is over the budget "
                               f"of {latency_budget_ms} ms")
        self.report["latency_budget_ms"] = latency_budget_ms or None
        self.report = checks.finite(self.report)
        self.step.save("serving_report", self.report)
        self.step.gate("serving", passed, reasons)
        return self.report
