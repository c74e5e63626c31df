"""A server with a bearer token and a tiny batching queue: 401 without the token, 429 /
RESOURCE_EXHAUSTED when the queue is full, and the CLI driving it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_workbench
from tests.serving.conftest import MODEL, new_repository
from tests.serving.demo_model import columns, rows
from workbench.runs.atomic import atomic_write_text
from workbench.serving.config import BatchingOptions, batching_text
from workbench.serving.loadtest import grpc_load, rest_load
from workbench.serving.process import running, start_local, stop
from workbench.serving.status import ServingError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, exports):
    repo = new_repository(tmp_path_factory.mktemp("guarded"), exports)
    atomic_write_text(repo.batching_path, batching_text(BatchingOptions(
        max_batch_size=1, batch_timeout_micros=0, max_enqueued_batches=1,
        num_batch_threads=1)))
    handle = start_local(repo, rest_port=0, grpc_port=0, token="auto", poll_seconds=0.5)
    yield repo, handle
    stop(repo)


def test_requests_without_the_token_get_401(guarded):
    _, handle = guarded
    anonymous = handle.rest()
    anonymous.token = None
    status, payload = anonymous.request("GET", f"/v1/models/{MODEL}")
    assert status == 401 and "bearer token" in json.loads(payload)["error"]
    assert handle.rest().status(MODEL)[0]["state"] == "AVAILABLE"
    grpc = handle.grpc()
    grpc._metadata = None
    with pytest.raises(ServingError) as err:
        grpc.predict(MODEL, columns(rows(1)))
    assert err.value.code == "UNAUTHENTICATED"


def test_a_full_queue_answers_429_and_resource_exhausted(guarded):
    _, handle = guarded
    url = f"{handle.rest_url}/v1/models/{MODEL}:predict"
    body = json.dumps({"instances": rows(1)}).encode()
    result = rest_load(url, body, concurrency=32, seconds=2, token=handle.token,
                       tool="python")
    assert result.error_kinds.get("http_429", 0) > 0, result.error_kinds
    assert set(result.error_kinds) == {"http_429"}
    g = grpc_load(f"127.0.0.1:{handle.grpc_port}", MODEL, columns(rows(1)), concurrency=32,
                  seconds=1, token=handle.token)
    assert g.error_kinds.get("RESOURCE_EXHAUSTED", 0) > 0
    assert set(g.error_kinds) == {"RESOURCE_EXHAUSTED"}
    assert handle.rest().predict(MODEL, instances=rows(1))


def test_cli_status_push_promote_rollback_and_stop(guarded, exports, tmp_path):
    repo, handle = guarded
    cli = ("--repository", str(repo.root))
    status = run_workbench("serve", "status", *cli, cwd=tmp_path)
    assert status.code == 0, status.text
    assert f"model {MODEL}" in status.out and "AVAILABLE" in status.out
    pushed = run_workbench("serve", "push", "--export", str(exports[2]), "--model", MODEL,
                           *cli, cwd=tmp_path)
    assert pushed.code == 0, pushed.text
    assert "deploy as canary" in pushed.out
    assert "canary" in repo.labels(MODEL)
    promoted = run_workbench("serve", "promote", *cli, cwd=tmp_path)
    assert promoted.code == 0 and "promote" in promoted.out, promoted.text
    rolled = run_workbench("serve", "rollback", *cli, cwd=tmp_path)
    assert rolled.code == 0, rolled.text
    assert repo.labels(MODEL) == {"stable": 1}
    missing = run_workbench("serve", "push", "--export", str(tmp_path / "nope"), *cli,
                            cwd=tmp_path)
    assert missing.code == 1 and "does not exist" in missing.err and "fix:" in missing.err
    again = run_workbench("serve", "promote", *cli, cwd=tmp_path)
    assert again.code == 1 and "no canary" in again.err
    stopped = run_workbench("serve", "stop", *cli, cwd=tmp_path)
    assert stopped.code == 0 and str(handle.pid) in stopped.out
    assert running(repo) is None
    started = run_workbench("serve", "start", "--rest-port", "0", "--grpc-port", "0", *cli,
                            cwd=tmp_path)
    assert started.code == 0 and "model server started" in started.out, started.text
    again = running(repo)
    assert again is not None and again.rest().status(MODEL)[0]["state"] == "AVAILABLE"
    assert run_workbench("serve", "stop", *cli, cwd=tmp_path).code == 0
    assert running(repo) is None
