"""TF Serving config files and the model repository (no server)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tests.serving.conftest import MODEL
from workbench.errors import ConfigError, IntegrityError
from workbench.serving.batching import BatchScheduler, Task
from workbench.serving.config import (
    BatchingOptions,
    VersionPolicy,
    batching_text,
    model_config,
    monitoring_text,
    read_batching,
    read_model_server_config,
    read_monitoring,
)
from workbench.serving.control import Controller
from workbench.serving.repository import Repository
from workbench.serving.server import ServerOptions
from workbench.serving.status import ServingError


def test_models_config_is_the_tf_serving_text_proto(tmp_path):
    cfg = model_server_config_pb2.ModelServerConfig()
    cfg.model_config_list.config.add().CopyFrom(model_config(
        "fraud", "/models/fraud", policy=VersionPolicy("specific", versions=(3, 2)),
        labels={"stable": 2, "canary": 3}))
    cfg.model_config_list.config.add().CopyFrom(model_config(
        "churn", "/models/churn", policy=VersionPolicy("latest", num_versions=2)))
    cfg.model_config_list.config.add().CopyFrom(model_config(
        "all", "/models/all", policy=VersionPolicy("all")))
    text = text_format.MessageToString(cfg)
    assert 'version_labels {\n      key: "canary"\n      value: 3' in text
    path = tmp_path / "models.config"
    path.write_text(text)
    back = read_model_server_config(path)
    assert back == cfg
    assert back.model_config_list.config[0].model_version_policy.specific.versions == [2, 3]


def test_version_policies_select_like_tf_serving():
    on_disk = [1, 2, 5, 7]
    assert VersionPolicy().select(on_disk) == [7]
    assert VersionPolicy("latest", num_versions=2).select(on_disk) == [5, 7]
    assert VersionPolicy("all").select(on_disk) == on_disk
    assert VersionPolicy("specific", versions=(2, 9)).select(on_disk) == [2]
    with pytest.raises(ConfigError):
        VersionPolicy("specific")


def test_batching_and_monitoring_files_round_trip(tmp_path):
    opts = BatchingOptions(max_batch_size=32, batch_timeout_micros=500, max_enqueued_batches=7,
                           num_batch_threads=2, allowed_batch_sizes=(8, 16, 32))
    text = batching_text(opts)
    assert "max_batch_size {\n  value: 32\n}" in text and "allowed_batch_sizes: 8" in text
    (tmp_path / "b.config").write_text(text)
    assert read_batching(tmp_path / "b.config") == opts
    assert 'path: "/monitoring/prometheus/metrics"' in monitoring_text()
    with pytest.raises(ConfigError, match="end with max_batch_size"):
        BatchingOptions(max_batch_size=32, allowed_batch_sizes=(8, 16))
    (tmp_path / "bad.config").write_text("max_batch_size { value: 'x' }")
    with pytest.raises(ConfigError, match="bad.config"):
        read_batching(tmp_path / "bad.config")


def test_bad_config_files_name_the_file_and_fix(tmp_path):
    path = tmp_path / "models.config"
    path.write_text("model_config_list { config { name: 'a' base_path: '/x' } "
                    "config { name: 'a' base_path: '/y' } }")
    with pytest.raises(ConfigError, match="more than once"):
        read_model_server_config(path)
    path.write_text("model_config_list { config { nme: 'a' } }")
    with pytest.raises(ConfigError, match="models.config"):
        read_model_server_config(path)
    with pytest.raises(ConfigError, match="not enabled"):
        ServerOptions(model_config_file=str(path), batching_parameters_file="b").check()
    missing = tmp_path / "absent.config"
    for read, flag in ((read_model_server_config, "model_config_file"),
                       (read_batching, "batching_parameters_file"),
                       (read_monitoring, "monitoring_config_file")):
        with pytest.raises(ConfigError, match="absent.config: No such file") as err:
            read(missing)
        assert err.value.hint == f"check --{flag}"


@pytest.mark.slow
def test_push_is_atomic_versioned_and_keeps_the_last_n(tmp_path, exports):
    repo = Repository(tmp_path / "serving")
    repo.init()
    pushed = [repo.push(exports[1], MODEL, keep=2).version for _ in range(3)]
    assert pushed == [1, 2, 3]
    assert repo.versions(MODEL) == [2, 3]                 # retention
    assert not [p for p in repo.base_path(MODEL).iterdir() if not p.name.isdigit()]
    Controller(repo).deploy(MODEL, 2, label="stable")
    assert repo.push(exports[2], MODEL, keep=1).version == 4
    assert repo.versions(MODEL) == [2, 4]                 # the labelled version stays


@pytest.mark.slow
def test_push_refuses_a_tampered_export_and_leaves_nothing(tmp_path, exports):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(exports[1], bad)
    (bad / "saved_model.pb").write_bytes((bad / "saved_model.pb").read_bytes() + b"x")
    repo = Repository(tmp_path / "serving")
    with pytest.raises(IntegrityError, match="changed: saved_model.pb"):
        repo.push(bad, MODEL)
    assert repo.versions(MODEL) == []
    with pytest.raises(ConfigError, match="not in"):
        repo.model(MODEL)


def test_labels_must_point_at_a_served_version(tmp_path):
    repo = Repository(tmp_path / "serving")
    repo.init()
    (repo.base_path(MODEL) / "1").mkdir(parents=True)
    with pytest.raises(ConfigError, match="does not serve"):
        repo.set_model(MODEL, policy=VersionPolicy("specific", versions=(1,)),
                       labels={"stable": 2})
    with pytest.raises(ConfigError, match="not allowed"):
        repo.set_model(MODEL, policy=VersionPolicy("specific", versions=(1,)),
                       labels={"no-dash": 1})


def _echo(inputs):
    time.sleep(0.01)
    return {"y": inputs["x"] * 2}


def test_batch_scheduler_batches_pads_and_refuses_when_full():
    opts = BatchingOptions(max_batch_size=8, batch_timeout_micros=20_000,
                           max_enqueued_batches=2, num_batch_threads=1,
                           allowed_batch_sizes=(4, 8))
    sched = BatchScheduler(opts)
    key = sched.queue(("m", 1, "s", 0), _echo, "m")
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    done = threading.Event()

    def cb(i):
        def inner(res, err):
            if err:
                errors.append(err)
            else:
                results[i] = res["y"]
            if len(results) + len(errors) == 3:
                done.set()
        return inner

    for i in range(3):
        sched.submit(key, Task({"x": np.array([float(i)])}, 1, cb(i)))
    assert done.wait(5) and not errors
    assert {i: float(v[0]) for i, v in results.items()} == {0: 0.0, 1: 2.0, 2: 4.0}
    processed = sched.metrics.exposition()
    assert 'processed_batch_size_bucket{model_name="m",le="4"} 1' in processed  # one padded 4
    with pytest.raises(ServingError) as err:
        sched.submit(key, Task({"x": np.zeros(9)}, 9, cb(0)))
    assert err.value.code == "INVALID_ARGUMENT"
    refused = 0
    for _ in range(40):
        try:
            sched.submit(key, Task({"x": np.zeros(4)}, 4, lambda r, e: None))
        except ServingError as e:
            assert e.code == "RESOURCE_EXHAUSTED" and e.http_status == 429
            refused += 1
    assert refused > 0
    sched.close(key)
    sched.stop()
