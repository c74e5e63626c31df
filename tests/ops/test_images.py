"""The workbench image, the compose stack and the Kubernetes files, validated as a Docker
engine and a cluster would read them (no engine or cluster runs here): hadolint, the
compose-spec schema, the Kubernetes schemas."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from workbench.serving.deploy import IMAGE

BIN = Path(sys.executable).parent
DOCKER = REPO / "docker"
K8S = DOCKER / "serving" / "kubernetes"
COMPOSE = DOCKER / "compose.yaml"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)


def dockerfiles() -> list[Path]:
    return sorted(p for p in DOCKER.rglob("Dockerfile*") if not p.name.endswith(".dockerignore"))


# -- Dockerfiles -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", dockerfiles(), ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint_finds_nothing_and_every_ignore_says_why(path):
    proc = _run(BIN / "hadolint", "--format", "json", path)
    findings = json.loads(proc.stdout or "[]")
    assert findings == [], "\n".join(f"{f['file']}:{f['line']} {f['code']} {f['message']}"
                                     for f in findings)
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert i > 0 and lines[i - 1].startswith("#") and "hadolint" not in lines[i - 1], \
                f"{path.name}:{i + 1}: an ignored hadolint rule needs a comment saying why"


def test_a_dockerfile_edited_into_a_bad_state_is_named_with_its_line(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y gcc\n"
                   "USER root\n")
    proc = _run(BIN / "hadolint", "--format", "json", bad)
    codes = {(f["code"], f["line"]) for f in json.loads(proc.stdout)}
    assert proc.returncode != 0
    assert ("DL3007", 1) in codes  # latest tag
    assert ("DL3008", 2) in codes  # unpinned apt packages
    assert ("DL3002", 3) in codes  # last USER is root


def test_the_workbench_image_is_pinned_slim_non_root_and_checks_its_health():
    text = (DOCKER / "workbench" / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)[1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) == 2, "a build stage and a final stage"
    final = stages[-1]
    assert "COPY --from=build /opt/workbench /opt/workbench" in final
    for tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert tool not in final, f"the final stage installs {tool}"
    assert re.search(r"^USER 10001:10001$", final, re.M)
    assert "HEALTHCHECK" in final and "workbench-healthcheck" in final
    assert 'ENTRYPOINT ["workbench"]' in final
    ignore = (DOCKER / "workbench" / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") if "*" in ignore else -1] == "*", "deny everything first"
    for needed in ("pyproject.toml", "workbench/", "widgets/", "notebooks/", "templates/"):
        assert f"!{needed}" in ignore
    copied = re.findall(r"^COPY (?!--from)(\S+)", text, re.M)
    for src in copied:
        assert (REPO / src).exists(), f"COPY {src}: not in the repository"


def test_the_healthcheck_script_reports_up_and_down(tmp_path):
    import http.server
    import os
    import threading

    script = DOCKER / "workbench" / "healthcheck.py"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        up = subprocess.run([sys.executable, str(script)], timeout=30, env={
            **os.environ, "WORKBENCH_HEALTH_URL":
                f"http://127.0.0.1:{server.server_address[1]}/"}, cwd=tmp_path)
        assert up.returncode == 0
    finally:
        server.shutdown()
    down = subprocess.run([sys.executable, str(script)], timeout=30, capture_output=True,
                          text=True, env={**os.environ, "WORKBENCH_HEALTH_URL":
                                          f"http://127.0.0.1:{server.server_address[1]}/"})
    assert down.returncode == 1 and "unhealthy" in down.stderr


# -- compose -----------------------------------------------------------------------------------

def test_compose_validates_against_the_compose_spec_and_a_broken_one_is_named(tmp_path):
    proc = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = tmp_path / "compose.yaml"
    doc = yaml.safe_load(COMPOSE.read_text())
    doc["services"]["tf-serving"]["ports"] = 8501
    bad.write_text(yaml.safe_dump(doc))
    proc = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", bad)
    assert proc.returncode != 0
    # the file and the JSON path of the fault (the schema checker reports paths, not lines)
    assert "compose.yaml" in proc.stdout and "services['tf-serving']" in proc.stdout
    assert "'ports'" in proc.stdout


def _services(profile: str) -> dict[str, dict]:
    doc = yaml.safe_load(COMPOSE.read_text())
    return {k: v for k, v in doc["services"].items() if profile in v.get("profiles", [])}


def test_compose_profiles_dev_and_prod():
    dev, prod = _services("dev"), _services("prod")
    assert {"apps", "lab", "workbench-serving", "exporter-dev", "prometheus-dev",
            "grafana"} <= set(dev)
    assert {"apps", "tf-serving", "exporter-prod", "prometheus-prod", "grafana"} <= set(prod)
    assert "tf-serving" not in dev and "workbench-serving" not in prod
    assert prod["tf-serving"]["image"] == IMAGE
    flags = " ".join(prod["tf-serving"]["command"])
    for config in ("models.config", "batching.config", "monitoring.config"):
        assert f"/work/serving/{config}" in flags
    assert dev["workbench-serving"]["command"] == [
        f.replace("tensorflow_model_server", "") for f in dev["workbench-serving"]["command"]]
    # the local server carries a token from a secret; Prometheus and the exporter send it
    assert "--auth_token_file=/run/secrets/serving_token" in dev["workbench-serving"]["command"]
    assert "serving_token" in dev["prometheus-dev"]["secrets"]
    assert "/run/secrets/serving_token" in dev["exporter-dev"]["command"]
    for services in (dev, prod):
        for name, s in services.items():
            for port in s.get("ports", []):
                assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    # the files the services mount exist in the repository
    for s in (*dev.values(), *prod.values()):
        for v in s.get("volumes", []):
            if isinstance(v, str) and v.startswith("./"):
                assert (DOCKER / v.split(":")[0]).exists(), v
    doc = yaml.safe_load(COMPOSE.read_text())
    assert doc["services"]["pipeline"]["command"] == ["run", "-p", "baseline=stable"]


def test_prometheus_and_grafana_files_point_at_the_compose_services():
    dev = yaml.safe_load((DOCKER / "monitoring" / "prometheus.dev.yml").read_text())
    prod = yaml.safe_load((DOCKER / "monitoring" / "prometheus.yml").read_text())
    targets = {c["job_name"]: c["static_configs"][0]["targets"]
               for c in dev["scrape_configs"] + prod["scrape_configs"]}
    assert targets == {"local-server": ["workbench-serving:8501"],
                       "tf-serving": ["tf-serving:8501"],
                       "workbench": ["workbench-exporter:9108"]}
    source = yaml.safe_load((DOCKER / "grafana/provisioning/datasources/prometheus.yml")
                            .read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    board = json.loads((DOCKER / "grafana/dashboards/workbench-serving.json").read_text())
    assert all(t["expr"] for p in board["panels"] for t in p["targets"])


# -- Kubernetes --------------------------------------------------------------------------------

def _kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@pytest.mark.slow
def test_the_kustomization_lists_every_manifest_and_each_validates():
    k = _kustomization()
    listed = set(k["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    for name in sorted(listed):
        proc = _run(BIN / "kubernetes-validate", "--strict", K8S / name)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for gen in k["secretGenerator"]:
        for env in gen["envs"]:
            assert (K8S / env).is_file()


def _apply_patch(doc: dict, ops: list[dict]) -> dict:
    for op in ops:
        assert op["op"] == "replace"
        *parents, last = op["path"].strip("/").split("/")
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = int(last) if isinstance(node, list) else last
        assert key in (range(len(node)) if isinstance(node, list) else node), op["path"]
        node[key] = op["value"]
    return doc


def test_tf_serving_patched_onto_the_shared_volume_still_validates(tmp_path):
    (patch,) = _kustomization()["patches"]
    docs = list(yaml.safe_load_all((K8S / "fraud.yaml").read_text()))
    (deployment,) = [d for d in docs if d["kind"] == patch["target"]["kind"]
                     and d["metadata"]["name"] == patch["target"]["name"]]
    _apply_patch(deployment, yaml.safe_load(patch["patch"]))
    spec = deployment["spec"]["template"]["spec"]
    assert spec["volumes"][1]["persistentVolumeClaim"]["claimName"] == "workbench-shared"
    assert spec["containers"][0]["volumeMounts"][1] == {"name": "models", "mountPath": "/work",
                                                        "readOnly": True}
    assert "--model_config_file=/work/serving/models.config" in spec["containers"][0]["args"]
    out = tmp_path / "tf-serving.yaml"
    out.write_text(yaml.safe_dump(deployment))
    proc = _run(BIN / "kubernetes-validate", "--strict", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_cronjob_runs_the_pipeline_nightly_on_the_shared_volume():
    job = yaml.safe_load((K8S / "workbench-nightly.yaml").read_text())
    assert job["kind"] == "CronJob" and job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    script = " ".join(container["args"])
    assert "workbench run" in script and "baseline=stable" in script
    assert "workbench monitor --since 24h" in script
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "workbench-shared"
    apps = list(yaml.safe_load_all((K8S / "workbench-apps.yaml").read_text()))
    assert {d["kind"] for d in apps} == {"Deployment", "Service"}


def test_a_manifest_edited_into_a_bad_state_is_named(tmp_path):
    bad = tmp_path / "apps.yaml"
    bad.write_text((K8S / "workbench-apps.yaml").read_text()
                   .replace("containerPort: 8866", "containerPort: http"))
    proc = _run(BIN / "kubernetes-validate", "--strict", bad)
    assert proc.returncode != 0
    assert "apps.yaml" in proc.stdout + proc.stderr
    assert "deployment/workbench-apps" in proc.stdout + proc.stderr


def test_the_local_model_server_on_all_addresses_takes_its_token_from_a_secret():
    """Bound to 0.0.0.0 the local server refuses to start without a token: compose gives it
    the serving_token secret's file, Kubernetes the workbench-tokens Secret's serving-token."""
    from workbench.serving.server import TOKEN_ENV

    service = yaml.safe_load(COMPOSE.read_text())["services"]["workbench-serving"]
    assert "--host=0.0.0.0" in service["command"]
    assert "--auth_token_file=/run/secrets/serving_token" in service["command"]
    assert service["secrets"] == ["serving_token"]
    assert "insecure" not in json.dumps(service)
    docs = list(yaml.safe_load_all((K8S / "workbench-serving.yaml").read_text()))
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "--host=0.0.0.0" in container["args"]
    assert not any("insecure" in a for a in container["args"])
    (env,) = [e for e in container["env"] if e["name"] == TOKEN_ENV]
    ref = env["valueFrom"]["secretKeyRef"]
    (generator,) = [g for g in _kustomization()["secretGenerator"] if g["name"] == ref["name"]]
    keys = {line.split("=", 1)[0] for env_file in generator["envs"]
            for line in (K8S / env_file).read_text().splitlines()
            if line and not line.startswith("#")}
    assert ref["key"] in keys
