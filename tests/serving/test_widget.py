"""The serving widget without a kernel: static picture, plot, and the promote/rollback
buttons calling back into the stage."""

from __future__ import annotations

from workbench.widgets import ServingView

REPORT = {
    "model": "fraud", "push": {"version": 2, "label": "canary"},
    "smoke": {"passed": True, "checks": []},
    "parity": {"passed": False, "examples": 10, "tolerance": 1e-5,
               "max_abs_diff": {"probabilities": 0.5}},
    "load_test": {"tool": "wrk", "concurrency": 32, "seconds": 2.0, "requests": 3000,
                  "errors": 0, "throughput": 1500.0,
                  "latency_ms": {"p50": 10.0, "p90": 14.0, "p95": 15.0, "p99": 20.0,
                                 "max": 30.0, "mean": 11.0},
                  "curve": [[50.0, 10.0], [95.0, 15.0], [99.0, 20.0]]},
    "canary": {"latency_ms": {"stable": {"p95": 12.0}, "canary": {"p95": 13.0}}},
}


def test_static_picture_and_plot():
    view = ServingView(REPORT)
    html = view.static_html()
    assert "pushed version 2 as <b>canary</b>" in html
    assert "parity: <span class='wb-bad'>failed" in html
    assert "1,500 req/s" in html and "p99 20.0 ms" in html
    assert view.plot.startswith("data:image/png;base64,") and view.plot in html
    assert view.actions is False                       # no callback: read-only


def test_buttons_call_the_stage_and_report_the_result():
    calls = []

    def act(action):
        calls.append(action)
        if action == "rollback":
            raise RuntimeError("no previous version")
        return {"action": action, "labels_before": {"stable": 1, "canary": 2},
                "labels_after": {"stable": 2}, "seconds": 0.4}

    view = ServingView(REPORT, on_action=act)
    assert view.actions is True
    view._handle(view, {"action": "promote"}, [])
    assert "promote: labels" in view.message and "0.40 s" in view.message
    view._handle(view, {"action": "rollback"}, [])
    assert view.message == "rollback failed: no previous version"
    view._handle(view, {"action": "delete everything"}, [])
    assert calls == ["promote", "rollback"]
