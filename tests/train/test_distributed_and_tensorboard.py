"""Multi-worker training with two real worker processes on 127.0.0.1, and `workbench
tensorboard` serving a run's logs over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from workbench.runs.step import Step
from workbench.train.params import TrainParams

from ..conftest import WORKBENCH
from .helpers import data_run, make_project, train_step

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("distributed") / "project"
    store = make_project(root)
    return root, store, data_run(store, "fraud", rows=3000)


def test_two_workers_train_one_working_model(project, tmp_path) -> None:
    import keras
    import numpy as np

    from workbench.evaluate.evaluator import predict
    from workbench.evaluate.metrics import binary_metrics
    from workbench.features.spec import FeaturePlan
    from workbench.train.data import feature_arrays
    from workbench.train.stage import load_inputs

    _, _, run = project
    ports = [free_port(), free_port()]
    procs = []
    for index in (0, 1):
        env = {**os.environ, "TF_CONFIG": json.dumps({
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "workbench.train.worker", "--run", str(run.path),
             "--out", str(tmp_path / f"worker{index}"), "-p", "epochs=2", "-p",
             "batch_size=64", "-p", "hidden_units=[16]", "-p", "learning_rate=0.005"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=300)
            outputs.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for code, out, err in outputs:
        assert code == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1]) == {"epochs_run": 2}
    assert (tmp_path / "worker0" / "model.keras").exists(), "the chief writes the model"
    assert not (tmp_path / "worker1").exists(), "other workers write nothing"
    history = json.loads((tmp_path / "worker0" / "history.json").read_text())
    assert history["epochs"] == [1, 2]

    model = keras.saving.load_model(tmp_path / "worker0" / "model.keras")
    step = Step(run, "02_train", "view")
    plan = load_inputs(step, TrainParams()).plan
    evals = step.load("01_data_validation/eval")
    p = predict(model, feature_arrays(evals, FeaturePlan.from_dict(plan.to_dict())))
    y = np.asarray(evals.column("is_fraud").to_numpy(), dtype=float)
    assert binary_metrics(y, p.ravel())["auc"] > 0.7


def test_multi_worker_without_a_cluster_says_how_to_set_one_up(project) -> None:
    from workbench.errors import ConfigError

    _, _, run = project
    env_before = os.environ.pop("TF_CONFIG", None)
    try:
        with pytest.raises(ConfigError, match="needs the cluster in the TF_CONFIG") as err:
            train_step(run, strategy="multi_worker")
        assert "python -m workbench.train.worker" in err.value.hint
    finally:
        if env_before is not None:
            os.environ["TF_CONFIG"] = env_before


def test_workbench_tensorboard_serves_the_runs_logs(project) -> None:
    root, _, run = project
    train_step(run, epochs=1)
    port = free_port()
    proc = subprocess.Popen([WORKBENCH, "tensorboard", run.id, "--port", str(port)], cwd=root,
                            env={**os.environ, "WORKBENCH_HOME": str(root)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        runs = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs",
                                            timeout=2) as r:
                    runs = json.loads(r.read())
                    if runs:
                        break
            except OSError:
                time.sleep(0.5)
        assert runs, f"no answer from TensorBoard; output:\n{proc.stdout and proc.poll()}"
        assert f"{run.id}/02_train/train" in runs and f"{run.id}/02_train/validation" in runs
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugins_listing",
                                    timeout=5) as r:
            plugins = json.loads(r.read())
        assert plugins["scalars"]["enabled"] and plugins["histograms"]["enabled"]
    finally:
        children = _children(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert children, "TensorBoard runs as a child process"
    import psutil

    gone, alive = psutil.wait_procs(children, timeout=15)
    for p in alive:
        p.kill()
    assert not alive, "stopping the command stops its TensorBoard"


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_workbench_tensorboard_names_a_run_without_logs(project) -> None:
    root, store, _ = project
    empty = store.create(state="interactive")
    result = subprocess.run([WORKBENCH, "tensorboard", empty.id, "--port", str(free_port())],
                            cwd=root, env={**os.environ, "WORKBENCH_HOME": str(root)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"no TensorBoard logs in run(s) {empty.id}" in result.stderr
    assert "workbench run --to 02_train" in result.stderr
