"""The checks that gate the export stage (gate ``export_checks``).

* ``tf1_loader`` — the export loads with the TF1 SavedModel loader TF Serving and
  ``saved_model_cli run`` use (``serve`` tag), in a separate process, with the expected
  signatures and method names;
* ``tf2_load`` — it loads with ``tf.saved_model.load``;
* ``saved_model_cli`` — ``saved_model_cli show --all`` (this environment's CLI, run in the
  checker process) lists every signature;
* ``parity`` — on the eval split, ``serving_default`` outputs through both loaders match the
  in-memory Keras model (max absolute difference ≤ tolerance, same class ids);
* ``example_signature`` — ``classify``/``regress`` on the same rows as serialized
  ``tf.Example``s agree with ``serving_default``;
* ``warmup`` — every warmup record parses and replays through the TF1-loaded signatures.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from workbench.export.contract import ModelInfo, batches
from workbench.export.signatures import (
    CLASSIFY,
    METHOD_NAMES,
    PREDICT,
    REGRESS,
    SERVING_DEFAULT,
    serialize_examples,
    to_examples,
)

__all__ = ["LoaderCheck", "expected_signatures", "max_abs_diff", "run_export_checks"]

log = logging.getLogger(__name__)

_EXAMPLE_ROWS = 256


def expected_signatures(info: ModelInfo) -> dict[str, str]:
    """Signature name → method name the export must have."""
    example = CLASSIFY if info.is_classification else REGRESS
    return {SERVING_DEFAULT: PREDICT, example: METHOD_NAMES[example]}


def max_abs_diff(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
    """Largest absolute difference of the probabilities (or values); NaN in both at the same
    place counts as equal."""
    worst = 0.0
    for k in ("probabilities", "value"):
        if k in a and k in b:
            x = np.asarray(a[k], dtype=np.float64)
            y = np.asarray(b[k], dtype=np.float64)
            both = np.isnan(x) & np.isnan(y)
            d = np.where(both, 0.0, np.abs(x - y))
            worst = max(worst, float(np.nanmax(np.where(np.isnan(d), np.inf, d), initial=0.0)))
    return worst


def _parse_cli(returncode: int, stdout: str) -> dict[str, Any]:
    names = re.findall(r"signature_def\['([^']+)'\]", stdout)
    return {"ok": returncode == 0 and bool(stdout), "returncode": returncode,
            "signatures": [n for n in names if not n.startswith("__")],
            "methods": re.findall(r"Method name is: (\S+)", stdout),
            "output_lines": stdout.count("\n")}


class LoaderCheck:
    """The TF1-loader check in its own process (see ``_tf1_check``). Started early, its
    TensorFlow start-up overlaps the export; :meth:`submit` hands it the export to check."""

    def __init__(self) -> None:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.export._tf1_check", "--stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.submitted = False

    def submit(self, model_dir: Path, arrays: Mapping[str, np.ndarray], work: Path) -> None:
        np.savez(work / "inputs.npz", **arrays)
        job = {"model_dir": str(model_dir), "out": str(work / "tf1.json"),
               "inputs": str(work / "inputs.npz"), "outputs": str(work / "tf1_outputs.npz"),
               "warmup": True, "cli_out": str(work / "saved_model_cli.txt")}
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()  # one line is the whole job; wait() closes the pipe
        except OSError as err:  # the process died at start-up; wait() reports its stderr
            log.warning("the loader check process is gone: %s", err)
        self.submitted = True

    def wait(self, timeout: float) -> str:
        """Wait for the result; returns the process's stderr (for the report on failure)."""
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return f"the TF1 loader check took over {timeout:.0f} s"
        return err.decode(errors="replace")

    def cancel(self) -> None:
        """Stop the process if the export never got to the checks."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()


def _tf2_outputs(model_dir: Path, arrays: Mapping[str, np.ndarray], info: ModelInfo
                 ) -> tuple[Any, dict[str, np.ndarray]]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(model_dir))
    fn = loaded.signatures[SERVING_DEFAULT]
    parts: dict[str, list[np.ndarray]] = {}
    for chunk in batches(arrays, 2048):
        out = fn(**{k: tf.constant(v) for k, v in chunk.items()})
        for k, v in out.items():
            parts.setdefault(k, []).append(v.numpy())
    return loaded, {k: np.concatenate(v) for k, v in parts.items()}


def _check(name: str, passed: bool, detail: str, **numbers: Any) -> dict[str, Any]:
    return {"name": name, "passed": bool(passed), "detail": detail, **numbers}


def _clear_decisions(probs: np.ndarray, threshold: float | None, tolerance: float
                     ) -> np.ndarray:
    """Rows whose class no difference within ``tolerance`` can flip: not within it of the
    decision threshold (binary) or of a tie between the two most likely classes. Outputs
    equal within the tolerance may name different classes only there."""
    probs = np.asarray(probs, dtype=np.float64)
    if threshold is not None and probs.shape[1] == 2:
        return np.abs(probs[:, 1] - threshold) > tolerance
    top = np.sort(probs, axis=1)[:, -2:]
    return (top[:, 1] - top[:, 0]) > 2 * tolerance


def run_export_checks(model_dir: str | Path, info: ModelInfo, arrays: Mapping[str, np.ndarray],
                      reference: Mapping[str, np.ndarray], spec: Mapping[str, str], *,
                      tolerance: float = 1e-5, timeout: float = 600,
                      loader: LoaderCheck | None = None,
                      threshold: float | None = None) -> list[dict[str, Any]]:
    """Run every check; returns them as dicts with ``name``, ``passed``, ``detail``.
    ``threshold``: the binary decision threshold the served class ids follow."""
    import tensorflow as tf

    model_dir = Path(model_dir)
    expected = expected_signatures(info)
    checks: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="wb-export-check-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        loader = loader or LoaderCheck()
        loader.submit(model_dir, arrays, work)  # runs while the checks below do

        # tf.saved_model.load + parity (TF2 path)
        try:
            loaded, tf2 = _tf2_outputs(model_dir, arrays, info)
            have = sorted(k for k in loaded.signatures)
            missing = sorted(set(expected) - set(have))
            checks.append(_check("tf2_load", not missing,
                                 "tf.saved_model.load loaded signatures " + ", ".join(have)
                                 + (f"; missing {', '.join(missing)}" if missing else ""),
                                 signatures=have))
        except Exception as err:  # noqa: BLE001 - a failed load is the finding
            loaded, tf2 = None, None
            checks.append(_check("tf2_load", False,
                                 f"tf.saved_model.load failed: {type(err).__name__}: "
                                 f"{str(err)[:500]}"))

        # classify/regress on serialized tf.Examples agrees with serving_default
        example_name = CLASSIFY if info.is_classification else REGRESS
        if loaded is not None and example_name in loaded.signatures:
            n = min(_EXAMPLE_ROWS, len(reference[next(iter(reference))]))
            rows = {k: v[:n] for k, v in arrays.items()}
            try:
                serialized = serialize_examples(to_examples(rows, spec, info))
                out = loaded.signatures[example_name](inputs=tf.constant(serialized))
                got = (out["scores"].numpy() if info.is_classification
                       else out["outputs"].numpy())
                want = tf2["probabilities" if info.is_classification else "value"][:n]
                diff = float(np.nanmax(np.abs(got - want), initial=0.0))
                checks.append(_check(
                    "example_signature", diff <= tolerance,
                    f"{example_name} on {n} rows as serialized tf.Examples matches "
                    f"serving_default within {diff:.2e} (tolerance {tolerance:g})",
                    rows=n, max_abs_diff=diff))
            except Exception as err:  # noqa: BLE001
                checks.append(_check("example_signature", False,
                                     f"{example_name} failed on serialized tf.Examples: "
                                     f"{type(err).__name__}: {str(err)[:500]}"))

        # TF1 loader (TF Serving's path): loaded, signatures, parity and warmup replay
        err_text = loader.wait(timeout)
        tf1_path = work / "tf1.json"
        tf1 = json.loads(tf1_path.read_text()) if tf1_path.exists() else {
            "loaded": False, "error": err_text[-1500:]}
        sigs = tf1.get("signatures", {})
        wrong = {k: sigs.get(k, {}).get("method_name") for k, m in expected.items()
                 if sigs.get(k, {}).get("method_name") != m}
        if not tf1.get("loaded"):
            detail = f"the TF1 loader (TF Serving's) refused the export: {tf1.get('error')}"
        elif wrong:
            detail = ("the TF1 loader loaded it but signature method names are wrong: "
                      + ", ".join(f"{k}={v} (want {expected[k]})" for k, v in wrong.items()))
        else:
            detail = (f"the TF1 loader (serve tag) loaded it in {tf1.get('load_s')} s with "
                      + ", ".join(f"{k} ({v['method_name']})" for k, v in sigs.items()))
        checks.append(_check("tf1_loader", bool(tf1.get("loaded")) and not wrong, detail,
                             signatures=sigs))

        # saved_model_cli show --all (run by the checker process, see _tf1_check)
        cli_text = (work / "saved_model_cli.txt").read_text() \
            if (work / "saved_model_cli.txt").exists() else ""
        shown = _parse_cli(int(tf1.get("cli_returncode", 1)), cli_text)
        lacking = sorted(set(expected) - set(shown["signatures"]))
        checks.append(_check(
            "saved_model_cli", shown["ok"] and not lacking,
            ("saved_model_cli show --all lists " + ", ".join(shown["signatures"])
             + (f"; missing {', '.join(lacking)}" if lacking else ""))
            if shown["ok"] else "saved_model_cli show --all failed: "
            + str(tf1.get("cli_error") or f"exit code {shown['returncode']}"),
            signatures=shown["signatures"]))

        # parity with the in-memory model, through both loaders
        tf1_out = None
        if (work / "tf1_outputs.npz").exists():
            tf1_out = dict(np.load(work / "tf1_outputs.npz"))
        diffs = {}
        for label, got in (("tf.saved_model.load", tf2), ("TF1 loader", tf1_out)):
            if got is not None:
                diffs[label] = max_abs_diff(reference, got)
        same_ids = True
        if info.is_classification:
            decided = _clear_decisions(reference["probabilities"], threshold, tolerance)
            for got in (tf2, tf1_out):
                if got is not None and "class_ids" in got:
                    same_ids &= bool(np.array_equal(got["class_ids"][decided],
                                                    reference["class_ids"][decided]))
        rows = len(reference[next(iter(reference))])
        worst = max(diffs.values()) if diffs else float("inf")
        passed = len(diffs) == 2 and worst <= tolerance and same_ids
        if not diffs:
            detail = "no loader produced outputs to compare"
        else:
            detail = (f"on {rows:,} eval rows the exported serving_default matches the "
                      "in-memory model: max abs difference "
                      + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
                      + f" (tolerance {tolerance:g})"
                      + ("" if same_ids else "; class ids differ")
                      + ("" if len(diffs) == 2 else "; "
                         + (tf1.get("predict_error") or "one loader produced no outputs")))
        checks.append(_check("parity", passed, detail, rows=rows,
                             max_abs_diff=worst if diffs else None,
                             by_loader=diffs, tolerance=tolerance))

        # warmup records
        replay = tf1.get("warmup") or {}
        ok = bool(replay.get("records")) and replay.get("replayed") == replay.get("records")
        detail = (f"{replay.get('replayed', 0)} of {replay.get('records', 0)} warmup records "
                  "parsed and replayed through the TF1-loaded signatures")
        if replay.get("errors"):
            detail += ": " + "; ".join(replay["errors"])
        checks.append(_check("warmup", ok, detail, records=replay.get("records", 0),
                             replayed=replay.get("replayed", 0)))
        log.info("export checks of %s took %.1f s", model_dir, time.perf_counter() - t0)
    return checks
