"""The default pipeline, headless through `workbench run`, with small parameters."""

from __future__ import annotations

import json

import pytest

from workbench.pipeline.spec import Pipeline
from workbench.runs import Run

pytestmark = pytest.mark.slow

NOISE = ("cuda", "absl::InitializeLog", "oneDNN", "cpu_feature_guard", "Traceback")


def test_every_stage_runs_and_its_notebook_is_clean(small_runs):
    last = Pipeline.default().names[-1]
    root, run_id = small_runs.upto(last)
    run = Run(root / "runs" / run_id)
    m = run.read()
    assert m["state"] == "succeeded"
    for name in Pipeline.default().names:
        step = m["steps"][name]
        assert step["state"] in ("succeeded", "cached"), (name, step.get("error"))
        nb = json.loads((run.path / step["notebook"]).read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                assert out.get("name") != "stderr", f"{name}: stderr output {out}"
                assert out.get("output_type") != "error", f"{name}: {out}"
                text = json.dumps(out)
                for word in NOISE:
                    assert word not in text, f"{name}: '{word}' in an output"
                data = out.get("data", {})
                if "application/vnd.jupyter.widget-view+json" in data:
                    # opened later without a kernel, the notebook still shows a picture
                    assert "text/html" in data or "image/png" in data, f"{name}: no fallback"
