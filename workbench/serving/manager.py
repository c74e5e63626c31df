"""Which model versions are served: config, version policies, labels, polling, loading.

Follows TF Serving's server core:

* the model config (``ModelServerConfig``) names models, base paths, version policies and labels;
  a reloaded config replaces the old one and models missing from it are unloaded;
* every ``poll_seconds`` the base paths are listed; versions the policy wants are loaded in the
  background (verified, loaded, warmup replayed) and switched to only once AVAILABLE; a version
  the policy no longer wants is unloaded only once a wanted version is available
  (availability-preserving), after a grace period in which requests already routed to it finish;
* a version that fails verification or loading ends in state END with the reason in its status,
  and the previous version keeps serving;
* a label may only point at an AVAILABLE version (FAILED_PRECONDITION otherwise).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.serving.config import (
    VersionPolicy,
    policy_of,
    read_model_server_config,
)
from workbench.serving.metrics import LOAD_ATTEMPTS, WARMUP_COUNT, Metrics
from workbench.serving.servable import Servable
from workbench.serving.status import ServingError, invalid, not_found

__all__ = ["ModelManager", "VersionState"]

log = logging.getLogger(__name__)

START, LOADING, AVAILABLE, UNLOADING, END = "START", "LOADING", "AVAILABLE", "UNLOADING", "END"
STATE_CODES = {"UNKNOWN": 0, START: 10, LOADING: 20, AVAILABLE: 30, UNLOADING: 40, END: 50}
UNLOAD_GRACE_S = 1.0


@dataclass
class VersionState:
    version: int
    state: str = START
    error_code: str = "OK"
    error_message: str = ""
    servable: Servable | None = None
    dir_id: tuple = ()
    keys: dict[str, tuple] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"version": str(self.version), "state": self.state,
                "status": {"error_code": self.error_code, "error_message": self.error_message}}


@dataclass
class ModelState:
    name: str
    base_path: Path
    policy: VersionPolicy
    labels: dict[str, int] = field(default_factory=dict)
    versions: dict[int, VersionState] = field(default_factory=dict)
    serving: dict[int, VersionState] = field(default_factory=dict)   # AVAILABLE only
    latest: VersionState | None = None


def _dir_id(path: Path) -> tuple:
    try:
        st = path.stat()
        pb = (path / "saved_model.pb").stat()
        return (st.st_ino, st.st_mtime_ns, pb.st_ino, pb.st_mtime_ns, pb.st_size)
    except OSError:
        return ()


class ModelManager:
    def __init__(self, runner: Any, metrics: Metrics, *, verify: bool = True,
                 public_key_path: str | None = None, warmup: bool = True,
                 poll_seconds: float = 1.0, config_path: str | None = None,
                 config_poll_seconds: float = 0.0) -> None:
        self.runner = runner
        self.metrics = metrics
        self.verify = verify
        self.public_key_path = public_key_path
        self.warmup = warmup
        self.poll_seconds = poll_seconds
        self.config_path = config_path
        self.config_poll_seconds = config_poll_seconds
        self.models: dict[str, ModelState] = {}
        self._load_lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._config_text: str | None = None
        self._label_errors: list[str] = []

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, config: Any) -> None:
        """Apply the first config, loading every model before returning (as TF Serving waits
        for its initial models), then poll in the background."""
        if self.config_path:
            self._config_text = Path(self.config_path).read_text(encoding="utf-8")
        errors = self.apply_config(config, raise_on_label_error=False)
        for e in errors:
            log.error("%s", e)
        if self.poll_seconds > 0 or self.config_poll_seconds > 0:
            self._thread = threading.Thread(target=self._poll_loop, name="model-poll",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def poll_now(self) -> None:
        self._wake.set()

    def _poll_loop(self) -> None:
        fs_next = cfg_next = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if self.config_poll_seconds > 0 and now >= cfg_next:
                    cfg_next = now + self.config_poll_seconds
                    self._poll_config_file()
                if self.poll_seconds > 0 and now >= fs_next:
                    fs_next = now + self.poll_seconds
                    self.sync_all()
            except Exception:  # noqa: BLE001 - the poller must survive any one bad poll
                log.exception("model poll failed")
            waits = [t for t, on in ((fs_next, self.poll_seconds > 0),
                                     (cfg_next, self.config_poll_seconds > 0)) if on]
            timeout = max(0.01, min(waits) - time.monotonic()) if waits else 1.0
            if self._wake.wait(timeout):
                self._wake.clear()
                fs_next = time.monotonic()

    def _poll_config_file(self) -> None:
        if not self.config_path:
            return
        try:
            text = Path(self.config_path).read_text(encoding="utf-8")
        except OSError as err:
            log.error("cannot read model config %s: %s", self.config_path, err)
            return
        if text == self._config_text and not self._label_errors:
            return
        try:
            config = read_model_server_config(self.config_path)
        except Exception as err:  # noqa: BLE001 - a bad file keeps the running config
            log.error("model config %s not applied: %s", self.config_path, err)
            self._config_text = text
            return
        self._config_text = text
        for e in self.apply_config(config, raise_on_label_error=False):
            log.error("%s", e)

    # -- config --------------------------------------------------------------------------------
    def apply_config(self, config: Any, *, raise_on_label_error: bool = True) -> list[str]:
        """Replace the running config: add, change and remove models, load what the policies
        want, then move labels (each must point at an AVAILABLE version)."""
        entries = list(config.model_config_list.config)
        with self._load_lock:
            wanted = {c.name for c in entries}
            for name in list(self.models):
                if name not in wanted:
                    self._remove_model(name)
            for c in entries:
                base = Path(c.base_path)
                m = self.models.get(c.name)
                if m is None:
                    m = self.models[c.name] = ModelState(c.name, base, policy_of(c))
                else:
                    m.base_path, m.policy = base, policy_of(c)
                self._sync(m)
            errors = []
            for c in entries:
                m = self.models[c.name]
                new_labels = {k: int(v) for k, v in c.version_labels.items()}
                bad = [f"Request to assign label '{k}' to version {v} of model {c.name}, "
                       f"which is not currently available for inference"
                       for k, v in new_labels.items() if v not in m.serving]
                if bad:
                    errors.extend(bad)
                else:
                    m.labels = new_labels
            self._label_errors = errors
        if errors and raise_on_label_error:
            raise ServingError("FAILED_PRECONDITION", "; ".join(errors),
                               hint="serve the version first, then assign the label "
                                    "(two-step label move)")
        return errors

    def _remove_model(self, name: str) -> None:
        m = self.models.pop(name)
        m.serving = {}
        m.latest = None
        for vs in list(m.versions.values()):
            if vs.state == AVAILABLE:
                self._unload(m, vs)

    def sync_all(self) -> None:
        with self._load_lock:
            for m in list(self.models.values()):
                self._sync(m)

    def _sync(self, m: ModelState) -> None:
        on_disk = []
        if m.base_path.is_dir():
            on_disk = sorted(int(p.name) for p in m.base_path.iterdir()
                             if p.name.isdigit() and p.is_dir())
        desired = m.policy.select(on_disk)
        for v in desired:
            vs = m.versions.get(v)
            path = m.base_path / str(v)
            # an unloaded version wanted again is loaded again; a refused one only once its
            # folder changed (TF Serving would retry the same bytes to the same end)
            if vs is None or (vs.state == END and (vs.error_code == "OK"
                                                   or vs.dir_id != _dir_id(path))):
                self._load(m, v, path)
        desired_up = [v for v in desired if v in m.serving]
        for v, vs in list(m.versions.items()):
            if v in desired or vs.state != AVAILABLE:
                continue
            if desired_up or not (m.base_path / str(v)).is_dir():
                self._unload(m, vs)
        for v, vs in list(m.versions.items()):
            if vs.state == START and v not in desired:
                del m.versions[v]

    # -- loading -------------------------------------------------------------------------------
    def _load(self, m: ModelState, version: int, path: Path) -> None:
        vs = VersionState(version, LOADING, dir_id=_dir_id(path))
        m.versions[version] = vs
        self.metrics.inc(LOAD_ATTEMPTS, (("model_name", m.name),))
        started = time.perf_counter()
        try:
            if self.verify:
                from workbench.serving.repository import verify_model_dir

                try:
                    verify_model_dir(path, public_key_path=self.public_key_path)
                except ServingError:
                    raise
                except Exception as err:  # noqa: BLE001 - IntegrityError and friends
                    raise ServingError("DATA_LOSS", f"version {version} of model {m.name} "
                                       f"failed verification: {err}") from err
            servable = Servable(m.name, version, path)
            if self.warmup:
                t0 = time.perf_counter()
                servable.warmup()
                self.metrics.observe(WARMUP_COUNT, (("model_name", m.name),),
                                     (time.perf_counter() - t0) * 1e6)
        except ServingError as err:
            vs.state, vs.error_code, vs.error_message = END, err.code, err.message
            log.error("refused %s version %d: %s", m.name, version, err.message)
            return
        except Exception as err:  # noqa: BLE001 - any load failure ends this version only
            vs.state, vs.error_code = END, "UNKNOWN"
            vs.error_message = f"{type(err).__name__}: {err}"
            log.exception("loading %s version %d failed", m.name, version)
            return
        vs.servable = servable
        for sig in servable.signatures.values():
            key = (m.name, version, sig.name, id(servable))
            self.runner.queue(key, sig, m.name)
            vs.keys[sig.name] = key
        vs.state = AVAILABLE
        serving = dict(m.serving)
        serving[version] = vs
        m.serving = serving
        m.latest = serving[max(serving)]
        log.info("serving %s version %d (%.2f s to load)", m.name, version,
                 time.perf_counter() - started)

    def _unload(self, m: ModelState, vs: VersionState) -> None:
        vs.state = UNLOADING
        serving = {v: s for v, s in m.serving.items() if v != vs.version}
        m.serving = serving
        m.latest = serving[max(serving)] if serving else None
        log.info("unloading %s version %d", m.name, vs.version)

        def finish() -> None:
            for key in vs.keys.values():
                self.runner.close(key)
            vs.servable = None
            vs.state = END
            if m.versions.get(vs.version) is vs and not (m.base_path / str(vs.version)).is_dir():
                m.versions.pop(vs.version, None)

        timer = threading.Timer(UNLOAD_GRACE_S, finish)
        timer.daemon = True
        timer.start()

    # -- requests ------------------------------------------------------------------------------
    def resolve(self, name: str, version: int | None = None,
                label: str | None = None) -> VersionState:
        """The AVAILABLE version a request names (latest when it names none)."""
        m = self.models.get(name)
        if m is None:
            m = next((s for n, s in self.models.items() if n.lower() == name.lower()), None)
        if version is not None and label is not None:
            raise invalid("a request may name a version or a label, not both")
        if m is None:
            what = (f"Specific({name}, {version})" if version is not None else
                    f"Latest({name})")
            raise not_found(f"Servable not found for request: {what}")
        if label is not None:
            if label not in m.labels:
                raise invalid(f"Unrecognized servable version label: {label}")
            version = m.labels[label]
        if version is None:
            vs = m.latest
            if vs is None:
                raise not_found(f"Servable not found for request: Latest({name})")
            return vs
        vs = m.serving.get(int(version))
        if vs is None:
            raise not_found(f"Servable not found for request: Specific({name}, {version})")
        return vs

    def status(self, name: str, version: int | None = None,
               label: str | None = None) -> list[VersionState]:
        m = self.models.get(name) or next(
            (s for n, s in self.models.items() if n.lower() == name.lower()), None)
        if m is None:
            raise not_found(f"Could not find any versions of model {name}")
        if version is not None and label is not None:
            raise invalid("a request may name a version or a label, not both")
        if label is not None:
            if label not in m.labels:
                raise invalid(f"Unrecognized servable version label: {label}")
            version = m.labels[label]
        if version is not None:
            vs = m.versions.get(int(version))
            if vs is None:
                raise not_found(f"Could not find version {version} of model {name}")
            return [vs]
        return sorted(m.versions.values(), key=lambda s: -s.version)

    def describe(self) -> dict[str, Any]:
        """Everything a status page shows: per model, its versions, states, reasons, labels."""
        return {name: {"base_path": str(m.base_path),
                       "policy": {"kind": m.policy.kind, "num_versions": m.policy.num_versions,
                                  "versions": list(m.policy.versions)},
                       "labels": dict(m.labels),
                       "versions": [vs.to_dict() for vs in
                                    sorted(m.versions.values(), key=lambda s: s.version)]}
                for name, m in self.models.items()}

    @property
    def label_errors(self) -> list[str]:
        return list(self._label_errors)

