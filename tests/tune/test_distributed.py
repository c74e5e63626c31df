"""KerasTuner's chief/worker mode with two local processes: this test is the chief (the 02_tune
step serving the oracle over gRPC on 127.0.0.1), a `python -m workbench.tune.worker` process
trains every trial, and the chief's artifacts hold them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from workbench.runs.step import Step
from workbench.tune.stage import TuneParams, tune

from .conftest import SMALL

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_worker_process_trains_the_trials_the_chief_hands_out(run, monkeypatch) -> None:
    port = str(_free_port())
    shared = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": port}
    assign = [f"-p{k}={v}" for k, v in {**SMALL, "hidden_units": "[16]", "max_trials": 2,
                                         "algorithm": "random"}.items()]
    worker = subprocess.Popen(
        [sys.executable, "-m", "workbench.tune.worker", str(run.path), "--step", "02_tune_dist",
         *assign], env={**os.environ, **shared, "KERASTUNER_TUNER_ID": "tuner0"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for key, value in {**shared, "KERASTUNER_TUNER_ID": "chief"}.items():
            monkeypatch.setenv(key, value)
        step = Step(run, "02_tune_dist", "compute")
        result = tune(step, TuneParams(**SMALL, step="02_tune_dist", max_trials=2,
                                       algorithm="random"))
        out, err = worker.communicate(timeout=300)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert out.strip() == "trained 2 trial(s)"
    assert [t["trial_id"] for t in result.trials] == ["0", "1"]
    assert all(t["score"] is not None for t in result.trials)
    assert result.trials[0]["defaults"] and result.best["stopped_by"] == "trials"
    assert result.best["improved"] is not None  # the chief compares what the worker trained
