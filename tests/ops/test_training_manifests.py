"""`workbench pipeline manifests --training-workers N`: an Indexed Job and its headless Service
for multi-worker training, validated with kubernetes-validate (no cluster runs here), each
worker's TF_CONFIG computed as Kubernetes computes it and read by the project's own parser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_workbench
from workbench.train import strategy

BIN = Path(sys.executable).parent


def manifests(project: Path, *args: str) -> tuple[dict, dict, Path]:
    out = project / "k8s"
    result = run_workbench("pipeline", "manifests", "--out", str(out), *args, cwd=project,
                           env={"WORKBENCH_HOME": str(project)})
    assert result.code == 0, result.text
    docs = {}
    for path in sorted(out.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        docs[doc["kind"]] = doc
    return docs["Service"], docs["Job"], out


def pod_environment(job: dict, index: int) -> dict[str, str]:
    """The container's environment as the kubelet builds it for the pod of ``index``: the
    downward API gives the pod's annotations (the Job controller sets the completion index
    one), and ``$(NAME)`` in a value expands a variable defined earlier in the list."""
    annotations = {"batch.kubernetes.io/job-completion-index": str(index)}
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    for var in container["env"]:
        if "valueFrom" in var:
            path = var["valueFrom"]["fieldRef"]["fieldPath"]
            key = re.fullmatch(r"metadata\.annotations\['(.+)'\]", path)[1]
            env[var["name"]] = annotations[key]
        else:
            env[var["name"]] = re.sub(r"\$\((\w+)\)",
                                      lambda m: env.get(m[1], m[0]), var["value"])
    return env


@pytest.mark.parametrize("workers", [1, 3])
def test_the_job_and_service_validate_with_kubernetes_validate(project, workers):
    _, _, out = manifests(project, "--training-workers", str(workers), "--run", "r1")
    paths = sorted(out.glob("*.yaml"))
    assert len(paths) == 2
    proc = subprocess.run([BIN / "kubernetes-validate", "--strict", *paths],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_manifest_broken_by_hand_fails_kubernetes_validate(project):
    _, job, out = manifests(project, "--training-workers", "2", "--run", "r1")
    job["spec"]["completionMode"] = "Sequential"  # no such mode
    job["spec"]["parallelism"] = "two"
    bad = out / "broken.yaml"
    bad.write_text(yaml.safe_dump(job))
    proc = subprocess.run([BIN / "kubernetes-validate", "--strict", bad],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0


def test_every_worker_gets_its_own_index_in_one_cluster_of_n(project, monkeypatch):
    service, job, _ = manifests(project, "--training-workers", "4", "--run", "r1")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == 4
    pod = spec["template"]["spec"]
    name, subdomain = job["metadata"]["name"], pod["subdomain"]
    assert service["metadata"]["name"] == subdomain and service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    (container,) = pod["containers"]
    assert container["ports"][0]["containerPort"] == port["targetPort"]
    # an Indexed Job's pod of index i has the hostname <job>-<i>; with the subdomain its DNS
    # name is <job>-<i>.<service>
    hosts = [f"{name}-{i}.{subdomain}:{port['port']}" for i in range(4)]
    seen = []
    for index in range(4):
        env = pod_environment(job, index)
        config = json.loads(env["TF_CONFIG"])
        assert config["cluster"] == {"worker": hosts}
        assert config["task"] == {"type": "worker", "index": index}
        monkeypatch.setenv("TF_CONFIG", env["TF_CONFIG"])
        seen.append(strategy._tf_config())  # what make_strategy("multi_worker") reads
    assert seen == [{"workers": hosts, "index": i} for i in range(4)]


def test_the_worker_command_is_one_the_worker_module_accepts(project):
    _, job, _ = manifests(project, "--training-workers", "2", "--run", "r1",
                          "--mount-path", str(project), "-p", "epochs=2",
                          "-p", "hidden_units=[16]")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python"]
    assert container["args"][:2] == ["-m", "workbench.train.worker"]
    mount = container["volumeMounts"][0]["mountPath"]
    assert mount == str(project)
    assert job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"] == {
        "claimName": "workbench-shared"}
    # the module parses the arguments and goes for the run on the volume (absent here): an
    # error naming the run folder, not a usage error (exit 2)
    env = pod_environment(job, 1)
    proc = subprocess.run([sys.executable, *container["args"]], capture_output=True, text=True,
                          timeout=300, env={**env, "PATH": str(BIN)}, cwd=project)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "usage:" not in proc.stderr
    assert f"{project}/runs/r1 is not a run" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--training-workers", "0", "--run", "r1"], "--training-workers 0: a cluster needs at "
                                                   "least 1 worker"),
    (["--training-workers", "-2", "--run", "r1"], "--training-workers -2"),
    (["--training-workers", "2", "--run", "r1", "--name", "Train_Job"],
     "--name 'Train_Job' is not a usable Job name"),
    (["--training-workers", "2", "--run", "../r1"], "--run '../r1' is not a run id"),
    (["--training-workers", "2"], "has finished 01_data_validation"),
])
def test_bad_input_is_refused_with_the_fix(project, args, message):
    result = run_workbench("pipeline", "manifests", "--out", str(project / "k8s"), *args,
                           cwd=project, env={"WORKBENCH_HOME": str(project)})
    assert result.code == 1, result.text
    assert message in result.err and "fix:" in result.err
    assert not (project / "k8s").exists()


def test_a_number_that_is_not_one_is_a_usage_error(project):
    result = run_workbench("pipeline", "manifests", "--training-workers", "two",
                           cwd=project, env={"WORKBENCH_HOME": str(project)})
    assert result.code == 2 and "'two' is not a valid integer" in result.err


def test_the_tfjob_holds_the_same_workers_and_its_pod_template_validates(project, tmp_path):
    _, job, out = manifests(project, "--training-workers", "3", "--run", "r1", "--tfjob")
    (path,) = (out / "tfjob").glob("*.yaml")
    tfjob = yaml.safe_load(path.read_text())
    assert (tfjob["apiVersion"], tfjob["kind"]) == ("kubeflow.org/v1", "TFJob")
    worker = tfjob["spec"]["tfReplicaSpecs"]["Worker"]
    assert set(tfjob["spec"]["tfReplicaSpecs"]) == {"Worker"} and worker["replicas"] == 3
    (container,) = worker["template"]["spec"]["containers"]
    (job_container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "tensorflow"  # the operator's container
    assert container["args"] == job_container["args"]
    assert {e["name"] for e in container["env"]}.isdisjoint({"TF_CONFIG", "WORKER_INDEX"})
    # kubernetes-validate has no schema for a CRD: it only warns on the TFJob itself
    proc = subprocess.run([BIN / "kubernetes-validate", "--strict", path],
                          capture_output=True, text=True, timeout=120)
    assert "Couldn't find schema for kind TFJob" in proc.stdout + proc.stderr
    # the pod template it carries is a core pod spec, which it can check
    pod = tmp_path / "pod.yaml"
    pod.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod",
                                   "metadata": {"name": "worker"},
                                   "spec": {**worker["template"]["spec"], "restartPolicy":
                                            worker["restartPolicy"]}}))
    proc = subprocess.run([BIN / "kubernetes-validate", "--strict", pod],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
