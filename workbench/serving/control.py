"""Moving traffic between versions: deploy as stable or canary, promote, roll back.

Labels move in TF Serving's safe two-step order: first a config that serves both the old and
the new version (and waiting until the new one is AVAILABLE), then the new label assignment.
Each step is written to ``models.config`` (atomically; a server polling the file picks it up)
and, when a server is reachable, applied at once with ModelService.HandleReloadConfigRequest.
The version policy is ``specific``: the stable version, the canary, and the previous stable one
(kept loaded so a rollback is a label move, done in seconds).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ConfigError
from workbench.serving.client import GrpcClient, RestClient
from workbench.serving.config import VersionPolicy
from workbench.serving.repository import Repository
from workbench.serving.status import ServingError

__all__ = ["Change", "Controller"]

log = logging.getLogger(__name__)

STABLE, CANARY = "stable", "canary"


@dataclass
class Change:
    """What a deploy, promote or rollback did."""

    action: str
    model: str
    labels_before: dict[str, int]
    labels_after: dict[str, int]
    versions: list[int]
    seconds: float = 0.0
    moves: list[str] = field(default_factory=list)  # each config change, in order

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "model": self.model,
                "labels_before": self.labels_before, "labels_after": self.labels_after,
                "versions": self.versions, "seconds": round(self.seconds, 3),
                "moves": self.moves}


class Controller:
    """Label moves on one repository, optionally applied live to a running server."""

    def __init__(self, repo: Repository, rest: RestClient | None = None,
                 grpc: GrpcClient | None = None, *, timeout: float = 120.0) -> None:
        self.repo = repo
        self.rest = rest
        self.grpc = grpc
        self.timeout = timeout

    # -- primitives ----------------------------------------------------------------------------
    def _apply(self, name: str, versions: set[int], labels: dict[str, int],
               change: Change, *, wait_for: set[int] = frozenset()) -> None:
        policy = VersionPolicy("specific", versions=tuple(sorted(versions)))
        config = self.repo.set_model(name, policy=policy, labels=labels)
        change.moves.append(f"versions {sorted(versions)}, labels {labels}")
        if self.rest is None:
            return
        if self.grpc is not None:
            self.grpc.reload_config(config)
        for v in sorted(wait_for):
            self.rest.wait_available(name, v, timeout=self.timeout)
        if self.grpc is None and labels:
            self._wait_labels(name, labels)

    def _wait_labels(self, name: str, labels: dict[str, int]) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if all(self._label_version(name, k) == v for k, v in labels.items()):
                return
            time.sleep(0.1)
        raise ConfigError(f"the server did not apply labels {labels} of model {name} within "
                          f"{self.timeout:g} s", hint="check the server log")

    def _label_version(self, name: str, label: str) -> int | None:
        try:
            return int(self.rest.status(name, label=label)[0]["version"])
        except Exception:  # noqa: BLE001 - not applied yet
            return None

    def _previous(self, name: str, below: int) -> int | None:
        """The newest version below ``below`` that the server did not refuse."""
        refused: set[int] = set()
        if self.rest is not None:
            try:
                refused = {int(s["version"]) for s in self.rest.status(name)
                           if s["state"] == "END" and s["status"]["error_code"] != "OK"}
            except ServingError:
                pass
        older = [v for v in self.repo.versions(name) if v < below and v not in refused]
        return older[-1] if older else None

    def _guarded(self, action: Any) -> Change:
        """Run a label move; if it fails (a version refused, a timeout), put the previous
        models.config back so the repository names what is really served."""
        before = self.repo.read_config()
        try:
            return action()
        except Exception:
            self.repo.write_config(before)
            if self.grpc is not None:
                try:
                    self.grpc.reload_config(before)
                except ServingError as err:
                    log.error("could not reload the previous config: %s", err)
            raise

    # -- actions -------------------------------------------------------------------------------
    def _deploy(self, name: str, version: int, *, label: str = "auto") -> Change:
        """Serve a pushed version as ``stable`` (first version, or ``label="stable"``) or as
        ``canary`` beside the current stable one."""
        started = time.monotonic()
        before = self.repo.labels(name)
        stable = before.get(STABLE)
        if label == "auto":
            label = CANARY if stable is not None and stable != version else STABLE
        if label not in (STABLE, CANARY):
            raise ConfigError(f"unknown label '{label}'", hint="use stable, canary or auto")
        change = Change(f"deploy as {label}", name, before, {}, [])
        if label == CANARY:
            if stable is None:
                raise ConfigError(f"model {name} has no stable version to put a canary beside",
                                  hint="deploy the first version as stable")
            keep = {stable, version}
            prev = self._previous(name, stable)
            if prev is not None and prev in self._served(name):
                keep.add(prev)
            self._apply(name, keep, {STABLE: stable}, change, wait_for={version})
            after = {STABLE: stable, CANARY: version}
            self._apply(name, keep, after, change)
        else:
            keep = {version} | ({stable} if stable is not None else set())
            self._apply(name, keep, {STABLE: stable} if stable is not None else {}, change,
                        wait_for={version})
            after = {STABLE: version}
            self._apply(name, keep, after, change)
        return self._done(change, after, keep, started)

    def _promote(self, name: str) -> Change:
        """The canary becomes stable; the old stable stays loaded for a fast rollback."""
        started = time.monotonic()
        before = self.repo.labels(name)
        canary, stable = before.get(CANARY), before.get(STABLE)
        if canary is None:
            raise ConfigError(f"model {name} has no canary to promote",
                              hint="deploy a version as canary first: workbench serve push "
                                   "RUN --label canary")
        change = Change("promote", name, before, {}, [])
        keep = {canary} | ({stable} if stable is not None else set())
        self._apply(name, keep, before, change, wait_for={canary})
        after = {STABLE: canary}
        self._apply(name, keep, after, change)
        return self._done(change, after, keep, started)

    def _rollback(self, name: str) -> Change:
        """Drop the canary if there is one; otherwise put ``stable`` back on the previous
        version."""
        started = time.monotonic()
        before = self.repo.labels(name)
        stable = before.get(STABLE)
        if stable is None:
            raise ConfigError(f"model {name} has no stable version to roll back",
                              hint="see: workbench serve status")
        change = Change("rollback", name, before, {}, [])
        if CANARY in before:
            keep = {stable} | ({p} if (p := self._previous(name, stable)) is not None
                               and p in self._served(name) else set())
            after = {STABLE: stable}
            self._apply(name, keep, after, change)
            return self._done(change, after, keep, started)
        prev = self._previous(name, stable)
        if prev is None:
            raise ConfigError(f"model {name} has no version before {stable} to roll back to",
                              hint="push a fixed version instead")
        keep = {prev, stable}
        self._apply(name, keep, before, change, wait_for={prev})
        after = {STABLE: prev}
        self._apply(name, keep, after, change)
        return self._done(change, after, keep, started)

    def deploy(self, name: str, version: int, *, label: str = "auto") -> Change:
        """Serve a pushed version as ``stable`` (first version, or ``label="stable"``) or as
        ``canary`` beside the current stable one."""
        return self._guarded(lambda: self._deploy(name, version, label=label))

    def promote(self, name: str) -> Change:
        """The canary becomes stable; the old stable stays loaded for a fast rollback."""
        return self._guarded(lambda: self._promote(name))

    def rollback(self, name: str) -> Change:
        """Drop the canary if there is one; otherwise put ``stable`` back on the previous
        version."""
        return self._guarded(lambda: self._rollback(name))

    def _served(self, name: str) -> set[int]:
        try:
            policy = self.repo.policy(name)
        except ConfigError:
            return set()
        return set(policy.select(self.repo.versions(name)))

    def _done(self, change: Change, after: dict[str, int], keep: set[int],
              started: float) -> Change:
        change.labels_after = after
        change.versions = sorted(keep)
        change.seconds = time.monotonic() - started
        log.info("%s of %s: labels %s → %s in %.2f s", change.action, change.model,
                 change.labels_before, after, change.seconds)
        return change
