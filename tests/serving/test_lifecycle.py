"""Versions on a live server: canary, promote, rollback, a tampered version refused, hot swap
under load, and a SIGKILL mid-load with a restart."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.serving.conftest import MODEL, new_repository
from tests.serving.demo_model import columns, rows
from workbench.serving.config import VersionPolicy
from workbench.serving.control import Controller
from workbench.serving.loadtest import rest_load
from workbench.serving.process import running, start_local, stop
from workbench.serving.repository import Repository
from workbench.serving.status import ServingError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory, exports):
    repo = new_repository(tmp_path_factory.mktemp("lifecycle"), exports)
    start_local(repo, rest_port=0, grpc_port=0, poll_seconds=0.2, config_poll_seconds=0.2)
    yield repo
    stop(repo)


def _ctl(repo: Repository) -> Controller:
    handle = running(repo)
    return Controller(repo, handle.rest(), handle.grpc(), timeout=60)


def _body() -> bytes:
    return json.dumps({"instances": rows(1, seed=11)}).encode()


def test_canary_then_promote_then_rollback(live, exports):
    ctl = _ctl(live)
    stable = live.labels(MODEL)["stable"]
    pushed = live.push(exports[2], MODEL)
    change = ctl.deploy(MODEL, pushed.version, label="canary")
    assert change.labels_after == {"stable": stable, "canary": pushed.version}
    assert len(change.moves) == 2            # versions first, then labels
    rest = ctl.rest
    row = rows(1, seed=2)
    by_label = {lab: rest.predict(MODEL, instances=row, label=lab)[0]["probabilities"]
                for lab in ("stable", "canary")}
    assert by_label["stable"] != by_label["canary"]   # different weights answer
    assert ctl.grpc.predict(MODEL, columns(row), label="canary")[1] == pushed.version

    promoted = ctl.promote(MODEL)
    assert promoted.labels_after == {"stable": pushed.version}
    assert stable in promoted.versions               # kept loaded for a fast rollback
    assert rest.predict(MODEL, instances=row, label="stable")[0]["probabilities"] == \
        by_label["canary"]

    started = time.monotonic()
    back = ctl.rollback(MODEL)
    took = time.monotonic() - started
    assert back.labels_after == {"stable": stable}
    assert took < 5, f"rollback took {took:.1f} s"
    assert rest.predict(MODEL, instances=row, label="stable")[0]["probabilities"] == \
        by_label["stable"]
    assert live.labels(MODEL) == {"stable": stable}


def test_tampered_version_is_refused_and_the_previous_keeps_serving(live, exports):
    ctl = _ctl(live)
    stable = live.labels(MODEL)["stable"]
    pushed = live.push(exports[1], MODEL)
    # tamper with the pushed copy before any server loads it
    data = next((pushed.path / "variables").glob("variables.data-*"))
    blob = bytearray(data.read_bytes())
    blob[-1] ^= 0xFF
    data.write_bytes(bytes(blob))
    with pytest.raises(ServingError, match="refused") as err:
        ctl.deploy(MODEL, pushed.version, label="canary")
    assert "variables/variables.data" in err.value.message
    status = ctl.rest.status(MODEL, version=pushed.version)[0]
    assert status["state"] == "END" and status["status"]["error_code"] == "DATA_LOSS"
    assert "changed: variables/variables.data" in status["status"]["error_message"]
    assert ctl.rest.status(MODEL, label="stable")[0]["version"] == str(stable)
    assert ctl.rest.predict(MODEL, instances=rows(1))[0]["probabilities"]
    # the failed deploy put models.config back: it names only what is served
    assert live.labels(MODEL) == {"stable": stable}
    assert pushed.version not in live.policy(MODEL).versions
    # a later rollback never picks the refused version
    assert ctl._previous(MODEL, pushed.version + 1) != pushed.version


def test_hot_swap_under_load_fails_no_request(live, exports):
    ctl = _ctl(live)
    handle = running(live)
    url = f"{handle.rest_url}/v1/models/{MODEL}:predict"
    result = {}
    loader = threading.Thread(target=lambda: result.update(
        r=rest_load(url, _body(), concurrency=32, seconds=6)))
    loader.start()
    time.sleep(1.5)
    pushed_at = time.monotonic()
    pushed = live.push(exports[2], MODEL)
    ctl.deploy(MODEL, pushed.version, label="stable")
    answered = None
    while time.monotonic() - pushed_at < 10:
        if ctl.grpc.predict(MODEL, columns(rows(1)))[1] == pushed.version:
            answered = time.monotonic() - pushed_at
            break
        time.sleep(0.02)
    loader.join()
    load = result["r"]
    assert load.errors == 0, load.error_kinds
    assert load.requests > 500
    assert answered is not None and answered <= 2.0, f"new version after {answered} s"


def test_latest_policy_loads_new_versions_found_by_polling(live, exports):
    rest = running(live).rest()
    live.set_model(MODEL, policy=VersionPolicy("latest", num_versions=2), labels={})
    pushed = live.push(exports[1], MODEL).version      # no reload call: polling finds it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and rest.available(MODEL)[-1:] != [pushed]:
        time.sleep(0.1)
    assert rest.available(MODEL)[-1] == pushed
    newest_two = [v for v in live.versions(MODEL)][-2:]
    while time.monotonic() < deadline and rest.available(MODEL) != newest_two:
        time.sleep(0.1)                                  # older ones unloaded after the grace
    assert rest.available(MODEL) == newest_two
    assert rest.predict(MODEL, instances=rows(1))        # latest answers
    # an unloaded version wanted again is loaded again
    live.set_model(MODEL, policy=VersionPolicy("specific", versions=(1, pushed)), labels={})
    while time.monotonic() < deadline and rest.available(MODEL) != [1, pushed]:
        time.sleep(0.1)
    assert rest.available(MODEL) == [1, pushed]
    # labels again for the next test (through the polled config file)
    Controller(live, rest, None).deploy(MODEL, pushed, label="stable")
    assert rest.status(MODEL, label="stable")[0]["version"] == str(pushed)


def test_a_second_model_comes_and_goes_with_the_config(live, exports):
    from tensorflow_serving.config import model_server_config_pb2

    rest = running(live).rest()
    live.push(exports[2], "churn")
    live.set_model("churn", policy=VersionPolicy("latest"), labels={})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and rest.available("churn") != [1]:
        time.sleep(0.1)
    assert rest.predict("churn", instances=rows(1))
    assert rest.available(MODEL)                         # the first model is untouched
    config = live.read_config()
    kept = [c for c in config.model_config_list.config if c.name != "churn"]
    fresh = model_server_config_pb2.ModelServerConfig()
    fresh.model_config_list.config.extend(kept)
    live.write_config(fresh)                             # models missing from it are unloaded
    while time.monotonic() < deadline:
        try:
            rest.status("churn")
        except ServingError as err:
            assert err.code == "NOT_FOUND"
            break
        time.sleep(0.1)
    else:
        pytest.fail("churn was not unloaded")
    assert rest.predict(MODEL, instances=rows(1), label="stable")


def test_sigkill_mid_load_then_restart_serves_again_quickly(live):
    handle = running(live)
    before = {k: v for k, v in live.labels(MODEL).items()}
    url = f"{handle.rest_url}/v1/models/{MODEL}:predict"
    loader = threading.Thread(target=lambda: rest_load(url, _body(), concurrency=8,
                                                       seconds=3, tool="python"))
    loader.start()
    time.sleep(1.0)
    os.kill(handle.pid, signal.SIGKILL)
    loader.join()
    assert running(live) is None                  # the stale pid file is noticed
    started = time.monotonic()
    again = start_local(live, rest_port=0, grpc_port=0, poll_seconds=0.2,
                        config_poll_seconds=0.2)
    rest = again.rest()
    assert rest.predict(MODEL, instances=rows(1), label="stable")[0]["probabilities"]
    took = time.monotonic() - started
    # seconds on a quiet machine (bench.bench_serving measures it); generous for a busy CI box
    assert took < 30, f"serving again after {took:.1f} s"
    assert live.labels(MODEL) == before
    served = {int(s["version"]) for s in rest.status(MODEL) if s["state"] == "AVAILABLE"}
    assert set(before.values()) <= served
    assert not list(Path(live.base_path(MODEL)).glob(".push-*"))
