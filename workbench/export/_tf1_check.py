"""Load an export the way TF Serving does (TF1 SavedModel loader, ``serve`` tag) and run it.

Run as ``python -m workbench.export._tf1_check MODEL_DIR --out RESULT.json [--inputs X.npz
--outputs Y.npz] [--warmup] [--cli-out SHOW.txt]`` — in its own process, so graph-mode state
never leaks into the caller. ``--cli-out`` also runs ``saved_model_cli show --all`` — the
entry point of the environment's ``saved_model_cli`` script, called in this process so the
check pays for one TensorFlow start-up, not two. Writes a JSON result; exits 0 even when
loading fails (the result says why), non-zero only when it cannot write the result.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main"]

BATCH = 1024


def _signatures(meta_graph: Any) -> dict[str, Any]:
    out = {}
    for key, sig in sorted(meta_graph.signature_def.items()):
        if key.startswith("__"):
            continue
        out[key] = {
            "method_name": sig.method_name,
            "inputs": {k: v.name for k, v in sig.inputs.items()},
            "outputs": {k: v.name for k, v in sig.outputs.items()},
        }
    return out


def _run(sess: Any, sig: dict[str, Any], feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    missing = sorted(set(sig["inputs"]) - set(feed))
    if missing:
        raise ValueError(f"inputs {missing} not given")
    fetch = sig["outputs"]
    values = sess.run(fetch, feed_dict={sig["inputs"][k]: v for k, v in feed.items()})
    return {k: np.asarray(v) for k, v in values.items()}


def _predict(sess: Any, sigs: dict[str, Any], inputs: str, outputs: str | None) -> int:
    arrays = dict(np.load(inputs))
    n = len(next(iter(arrays.values())))
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n, BATCH):
        out = _run(sess, sigs["serving_default"],
                   {k: v[start:start + BATCH] for k, v in arrays.items()})
        for k, v in out.items():
            parts.setdefault(k, []).append(v)
    if outputs:
        joined = {k: np.concatenate(v) for k, v in parts.items()}
        np.savez(outputs, **{k: v.astype(bytes) if v.dtype == object else v
                             for k, v in joined.items()})
    return n


def check(model_dir: str, inputs: str | None, outputs: str | None,
          warmup: bool) -> dict[str, Any]:
    import tensorflow as tf

    result: dict[str, Any] = {"loaded": False}
    t0 = time.perf_counter()
    replay: dict[str, Any] = {"records": 0, "replayed": 0, "errors": []}
    logs: list[Any] = []
    if warmup:  # read eagerly, before the graph-mode session
        from workbench.export.warmup import WARMUP_FILE, read_warmup

        path = Path(model_dir) / WARMUP_FILE
        if path.is_file():
            try:
                logs = read_warmup(path)
            except Exception as err:  # noqa: BLE001 - a damaged file is the finding
                replay["errors"].append(f"cannot read {WARMUP_FILE}: {type(err).__name__}: "
                                        f"{str(err)[:300]}")
        else:
            replay["errors"].append(f"{WARMUP_FILE} is missing")
    graph = tf.Graph()
    with tf.compat.v1.Session(graph=graph) as sess:
        try:
            meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], model_dir)
        except Exception as err:  # noqa: BLE001 - the loader's own error is the finding
            result["error"] = f"{type(err).__name__}: {err}"
            return result
        result.update(loaded=True, load_s=round(time.perf_counter() - t0, 3),
                      signatures=_signatures(meta))
        sigs = result["signatures"]
        if inputs:
            try:
                result["predicted_rows"] = _predict(sess, sigs, inputs, outputs)
            except Exception as err:  # noqa: BLE001 - the finding, reported
                result["predict_error"] = f"{type(err).__name__}: {str(err)[:1000]}"
        if warmup:
            from workbench.export.warmup import request_inputs

            replay["records"] = len(logs)
            for i, entry in enumerate(logs):
                try:
                    name, feed = request_inputs(entry)
                    _run(sess, sigs[name], feed)
                    replay["replayed"] += 1
                except Exception as err:  # noqa: BLE001 - reported per record
                    if len(replay["errors"]) < 5:
                        replay["errors"].append(f"record {i}: {type(err).__name__}: "
                                                f"{str(err).splitlines()[0][:300]}")
            result["warmup"] = replay
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


def saved_model_cli_show(model_dir: str, out: str) -> int:
    """``saved_model_cli show --dir MODEL_DIR --all`` through the CLI's own ``main``; its
    standard output goes to ``out``. Returns the CLI's exit code."""
    from tensorflow.python.tools import saved_model_cli

    buffer = io.StringIO()
    saved_argv = sys.argv
    sys.argv = ["saved_model_cli", "show", "--dir", model_dir, "--all"]
    code: Any = 0
    try:
        with contextlib.redirect_stdout(buffer):
            saved_model_cli.main()
    except SystemExit as done:  # absl's app.run always exits
        code = done.code
    finally:
        sys.argv = saved_argv
    Path(out).write_text(buffer.getvalue())
    return int(code or 0) if not isinstance(code, str) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_dir", nargs="?")
    parser.add_argument("--stdin", action="store_true",
                        help="import TensorFlow first, then read the arguments as one JSON "
                             "object line from standard input (the caller starts this process "
                             "early so the start-up overlaps its own work)")
    parser.add_argument("--out")
    parser.add_argument("--inputs")
    parser.add_argument("--outputs")
    parser.add_argument("--warmup", action="store_true")
    parser.add_argument("--cli-out")
    args = parser.parse_args(argv)
    if args.stdin:
        import tensorflow  # noqa: F401 - the start-up happens while the caller works

        line = sys.stdin.readline()
        if not line.strip():
            return 0  # the caller gave up before submitting an export
        for key, value in json.loads(line).items():
            setattr(args, key, value)
    if not args.model_dir or not args.out:
        parser.error("MODEL_DIR and --out are required")
    try:
        result = check(args.model_dir, args.inputs, args.outputs, args.warmup)
    except Exception as err:  # noqa: BLE001 - reported to the parent process
        result = {"loaded": False, "error": f"{type(err).__name__}: {err}",
                  "traceback": traceback.format_exc()[-3000:]}
    if args.cli_out:
        try:
            result["cli_returncode"] = saved_model_cli_show(args.model_dir, args.cli_out)
        except Exception as err:  # noqa: BLE001 - reported to the parent process
            result["cli_error"] = f"{type(err).__name__}: {err}"
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
