"""Kubernetes manifests for multi-worker training (``strategy="multi_worker"``).

:func:`training_manifests` gives an Indexed Job (``batch/v1``, ``completionMode: Indexed``,
``parallelism = completions = N``) and the headless Service that gives its pods stable DNS
names, ``<job>-<index>.<service>``. Every pod runs the project's worker module::

    python -m workbench.train.worker --run /work/runs/RUN --out /work/training/RUN

on the shared volume (the PersistentVolumeClaim of the project folder), with ``TF_CONFIG``
computed by Kubernetes itself: ``WORKER_INDEX`` comes from the pod's completion-index annotation
(the value the Job controller also puts in ``JOB_COMPLETION_INDEX``) through the downward API,
and ``TF_CONFIG`` is a dependent variable that refers to it as ``$(WORKER_INDEX)``. Worker 0 is
the chief: it writes ``model.keras`` and ``history.json`` to ``--out``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError
from workbench.pipeline.kubeflow import DEFAULT_IMAGE, DEFAULT_MOUNT_PATH, DEFAULT_PVC

__all__ = ["INDEX_ANNOTATION", "INDEX_VARIABLE", "PORT", "check_workers", "tfjob_manifest",
           "training_manifests", "write_training_manifests"]

#: the annotation of an Indexed Job's pod holding its completion index
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
#: the variable the worker's TF_CONFIG refers to
INDEX_VARIABLE = "WORKER_INDEX"
#: the port of tf.distribute's collective communication on every worker
PORT = 12345
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_MAX_WORKERS = 1000


def check_workers(workers: int) -> None:
    """A ConfigError unless ``workers`` is a usable number of training workers."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"--training-workers {workers!r}: a cluster needs at least 1 worker",
                          hint="pass --training-workers N with N >= 1 (2 or more to train on "
                          "several machines)")
    if workers > _MAX_WORKERS:
        raise ConfigError(f"--training-workers {workers}: more than {_MAX_WORKERS} workers",
                          hint="Kubernetes caps an Indexed Job's parallelism; use fewer, "
                          "larger workers")


def _check(workers: int, name: str, run: str, image: str) -> None:
    check_workers(workers)
    # the pods' hostnames are <name>-<index>, a DNS label of at most 63 characters
    if not _NAME.match(name) or len(name) + 1 + len(str(workers - 1)) > 63:
        raise ConfigError(f"--name '{name}' is not a usable Job name",
                          hint="lower-case letters, digits and '-', starting and ending with a "
                          "letter or digit, at most 63 characters with the worker index")
    if not run or "/" in run or run in (".", ".."):
        raise ConfigError(f"--run '{run}' is not a run id",
                          hint="pass the id of a run in the project's runs folder (see "
                          "`workbench runs list`)")
    if not image:
        raise ConfigError("--image is empty", hint=f"pass --image {DEFAULT_IMAGE}")


def training_manifests(workers: int, *, run: str, image: str = DEFAULT_IMAGE,
                       name: str = "workbench-train", pvc: str = DEFAULT_PVC,
                       mount_path: str = DEFAULT_MOUNT_PATH, runs_dir: str = "runs",
                       params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The headless Service and the Indexed Job of ``workers`` training workers for ``run``
    (a run id in ``<mount_path>/<runs_dir>`` whose 01_data_validation step is done)."""
    _check(workers, name, run, image)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "training",
              "app.kubernetes.io/part-of": "tf-workbench"}
    hosts = [f"{name}-{i}.{name}:{PORT}" for i in range(workers)]
    cluster = json.dumps({"worker": hosts}, separators=(",", ":"))
    tf_config = ('{"cluster":' + cluster + ',"task":{"type":"worker","index":$('
                 + INDEX_VARIABLE + ')}}')
    run_path = f"{mount_path.rstrip('/')}/{runs_dir}/{run}"
    args = ["-m", "workbench.train.worker", "--run", run_path,
            "--out", f"{mount_path.rstrip('/')}/training/{run}"]
    for key, value in (params or {}).items():
        args += ["-p", f"{key}={value}"]
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                 "selector": dict(labels),
                 "ports": [{"name": "collective", "port": PORT, "targetPort": PORT}]},
    }
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "completionMode": "Indexed", "completions": workers, "parallelism": workers,
            # one lost worker stalls the collective ops of all the others: fail the Job
            "backoffLimit": 0,
            "activeDeadlineSeconds": 14400,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "subdomain": name, "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                        "runAsGroup": 10001, "fsGroup": 10001},
                    "containers": [{
                        "name": "worker", "image": image,
                        "command": ["python"], "args": args,
                        "env": [
                            {"name": INDEX_VARIABLE, "valueFrom": {"fieldRef": {
                                "fieldPath": f"metadata.annotations['{INDEX_ANNOTATION}']"}}},
                            {"name": "TF_CONFIG", "value": tf_config},
                            {"name": "WORKBENCH_HOME", "value": mount_path},
                        ],
                        "ports": [{"name": "collective", "containerPort": PORT}],
                        "resources": {"requests": {"cpu": "2", "memory": "4Gi"},
                                      "limits": {"memory": "8Gi"}},
                        "securityContext": {"allowPrivilegeEscalation": False},
                        "volumeMounts": [{"name": "shared", "mountPath": mount_path}],
                    }],
                    "volumes": [{"name": "shared",
                                 "persistentVolumeClaim": {"claimName": pvc}}],
                },
            },
        },
    }
    return [service, job]


def tfjob_manifest(job: dict[str, Any]) -> dict[str, Any]:
    """The same workers as a Kubeflow ``TFJob`` (``kubeflow.org/v1``), for clusters with the
    Kubeflow training operator: it creates the pods and their Services and sets ``TF_CONFIG``
    itself (``cluster.worker`` and the task's own index), so the pod template drops the
    index variables; the operator requires the container to be named ``tensorflow``."""
    spec = job["spec"]
    template = json.loads(json.dumps(spec["template"]))
    pod = template["spec"]
    pod.pop("subdomain", None)
    pod.pop("restartPolicy", None)
    (container,) = pod["containers"]
    container["name"] = "tensorflow"
    container["env"] = [e for e in container["env"]
                        if e["name"] not in (INDEX_VARIABLE, "TF_CONFIG")]
    container["ports"] = [{"name": "tfjob-port", "containerPort": PORT}]
    return {
        "apiVersion": "kubeflow.org/v1", "kind": "TFJob",
        "metadata": json.loads(json.dumps(job["metadata"])),
        "spec": {
            "runPolicy": {"backoffLimit": spec["backoffLimit"],
                          "activeDeadlineSeconds": spec["activeDeadlineSeconds"],
                          "cleanPodPolicy": "None"},
            "tfReplicaSpecs": {"Worker": {"replicas": spec["completions"],
                                          "restartPolicy": "Never", "template": template}},
        },
    }


def write_training_manifests(out: str | Path, workers: int, *, tfjob: bool = False,
                             **options: Any) -> list[Path]:
    """Write the Service and the Job as ``<out>/<name>-service.yaml`` and
    ``<out>/<name>-job.yaml`` (and, with ``tfjob``, the TFJob as
    ``<out>/tfjob/<name>-tfjob.yaml``, apart, so that ``kubectl apply -f OUT`` does not start
    the workers twice); returns the paths."""
    service, job = training_manifests(workers, **options)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder} is a file", hint="pass a folder for the manifests")
    folder.mkdir(parents=True, exist_ok=True)
    head = (f"# Multi-worker training of run {options['run']} with {workers} worker(s): "
            "written by `workbench pipeline manifests`.\n")
    paths = []
    docs = [("service", service), ("job", job)]
    if tfjob:
        docs.append(("tfjob", tfjob_manifest(job)))
    for kind, doc in docs:
        path = (folder / "tfjob" if kind == "tfjob" else folder) / \
            f"{doc['metadata']['name']}-{kind}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(head + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths
