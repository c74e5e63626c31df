"""Deployment files: compose.yaml against the Compose specification, Kubernetes manifests
against the Kubernetes schemas, and the docker target where an engine exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from workbench.serving.config import VersionPolicy
from workbench.serving.deploy import (
    IMAGE,
    compose_file,
    docker_available,
    kubernetes_manifests,
)
from workbench.serving.repository import Repository

BIN = Path(sys.executable).parent


def test_image_tag_matches_tensorflow():
    import importlib.metadata as md

    tf = md.version("tensorflow")
    assert IMAGE == f"tensorflow/serving:{'.'.join(tf.split('.')[:2])}.0"


def test_committed_files_are_the_generator_output():
    assert (REPO / "docker/serving/compose.yaml").read_text() == compose_file()
    assert (REPO / "docker/serving/kubernetes/fraud.yaml").read_text() == \
        kubernetes_manifests(None, "fraud")


def test_compose_file_validates_against_the_compose_spec(tmp_path):
    proc = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.compose-spec", str(REPO / "docker/serving/compose.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    service = yaml.safe_load(compose_file())["services"]["tf-serving"]
    flags = " ".join(service["command"])
    for flag in ("--model_config_file=", "--model_config_file_poll_wait_seconds=",
                 "--enable_batching=true", "--batching_parameters_file=",
                 "--monitoring_config_file=", "--file_system_poll_wait_seconds="):
        assert flag in flags
    assert service["ports"] == ["127.0.0.1:8500:8500", "127.0.0.1:8501:8501"]
    # a broken file is caught by the same check
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  x:\n    ports: 8501\n")
    proc = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.compose-spec", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0


def test_kubernetes_manifests_validate_and_probe_the_status_route(tmp_path):
    repo = Repository(tmp_path / "serving")
    repo.init()
    (repo.base_path("churn") / "3").mkdir(parents=True)
    repo.set_model("churn", policy=VersionPolicy("specific", versions=(3,)),
                   labels={"stable": 3})
    text = kubernetes_manifests(repo, "churn")
    path = tmp_path / "churn.yaml"
    path.write_text(text)
    proc = subprocess.run([str(BIN / "kubernetes-validate"), "--strict", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(text)}
    assert set(docs) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"}
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/v1/models/churn"
    models_config = docs["ConfigMap"]["data"]["models.config"]
    assert 'base_path: "/models/churn"' in models_config and 'key: "stable"' in models_config
    proc = subprocess.run([str(BIN / "kubernetes-validate"), "--strict",
                           str(REPO / "docker/serving/kubernetes/fraud.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_writes_manifests_for_a_repository(tmp_path):
    from tests.conftest import run_workbench
    from tests.serving.conftest import placeholder_repository

    repo = placeholder_repository(tmp_path / "serving")
    out = run_workbench("serve", "manifests", "--target", "kubernetes", "--repository",
                        str(repo.root), "--out", str(tmp_path / "deploy"), cwd=tmp_path)
    assert out.code == 0, out.text
    assert (tmp_path / "deploy" / "fraud.yaml").is_file()
    out = run_workbench("serve", "manifests", "--target", "docker", "--repository",
                        str(repo.root), "--out", str(tmp_path / "deploy"), cwd=tmp_path)
    assert out.code == 0 and (tmp_path / "deploy" / "compose.yaml").read_text() == \
        compose_file()


def test_docker_target_runs_the_real_image_where_an_engine_exists(tmp_path, request):
    ok, why = docker_available()
    if not ok:
        print(f"docker target not run: {why}")
        pytest.skip(f"no Docker engine here: {why}")
    from tests.serving.demo_model import rows
    from workbench.serving.client import RestClient
    from workbench.serving.control import Controller
    from workbench.serving.deploy import start_docker, stop_docker

    exports = request.getfixturevalue("exports")
    repo = Repository(tmp_path / "serving")
    repo.init()
    Controller(repo).deploy("fraud", repo.push(exports[1], "fraud").version, label="stable")
    start_docker(repo)
    try:
        rest = RestClient("127.0.0.1", 8501)
        rest.wait_available("fraud", 1, timeout=180)
        assert rest.predict("fraud", instances=rows(2), label="stable")
        assert rest.classify("fraud", rows(1), signature_name="classify")
    finally:
        stop_docker(repo)
