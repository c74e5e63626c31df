"""``workbench runs list|show|compare``."""

from __future__ import annotations

import json
from typing import Any

import click

from workbench._format import number
from workbench.project import Project
from workbench.runs.record import RunRecord
from workbench.runs.report import run_details, runs_overview

__all__ = ["echo_run", "format_table", "register"]


def format_table(rows: list[list[Any]], header: list[str]) -> str:
    """Plain aligned columns (no borders), wide enough for every cell."""
    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def _gates(manifest: RunRecord) -> dict[str, str]:
    return {f"{step}.{gate.name}": "pass" if gate.passed else "FAIL"
            for step, gate in manifest.gates()}


def _metrics(manifest: RunRecord) -> dict[str, Any]:
    return {f"{step}.{name}": value for step, record in manifest.steps.items()
            for name, value in record.metrics.items()
            if isinstance(value, (int, float, str, bool))}


def _fmt(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return number(value, 6, missing="")


def echo_run(d: dict[str, Any]) -> None:
    """A run as `workbench runs show` prints it (also the end of `workbench demo`)."""
    click.secho(f"run {d['run_id']}: {d['state']}", bold=True)
    click.echo(f"  folder   {d['path']}")
    click.echo(f"  created  {d['created']}   time {_duration(d['duration_s'])}")
    if d["git"]:
        dirty = " (with local changes)" if d["git"]["dirty"] else ""
        click.echo(f"  git      {d['git']['commit'][:12]}{dirty}")
    pk = d["packages"]
    shown = [f"{k} {pk[k]}" for k in ("tensorflow", "keras", "tf-workbench") if k in pk]
    if shown:
        click.echo("  packages " + ", ".join(shown))
    if d["parameters"]:
        click.echo("  parameters " + ", ".join(f"{k}={_fmt(v)}"
                                                for k, v in d["parameters"].items()))
    steps = d["step_details"]
    if steps:
        click.echo("")
        click.echo(format_table(
            [[s["name"], s["state"], _duration(s["duration_s"]),
              ", ".join(f"{g}:{'pass' if x.get('passed') else 'FAIL'}"
                        for g, x in s["gates"].items()),
              len(s["artifacts"]),
              f"from {s['cached_from']}" if s["cached_from"] else ""] for s in steps],
            ["step", "state", "time", "gates", "artifacts", "note"]))
    for s in steps:
        for gate, x in s["gates"].items():
            if not x.get("passed"):
                click.secho(f"\n{s['name']}: gate {gate} failed", fg="red")
                for reason in x.get("reasons", []):
                    click.echo(f"  - {reason}")
        if s["error"]:
            click.secho(f"\n{s['name']}: {s['error'].get('ename')}: "
                        f"{s['error'].get('evalue')}", fg="red")
        if s["metrics"]:
            click.echo(f"\n{s['name']} metrics: " + ", ".join(
                f"{k}={_fmt(v)}" for k, v in s["metrics"].items()))


def register(cli: click.Group) -> None:
    @cli.group("runs")
    def runs() -> None:
        """Inspect the run store."""

    @runs.command("list")
    @click.option("--json", "as_json", is_flag=True, help="one JSON object per run")
    def list_cmd(as_json: bool) -> None:
        """Every run, newest first, with its state and steps."""
        store = Project.find().store()
        overview = runs_overview(store)
        if as_json:
            for row in overview:
                click.echo(json.dumps(row))
            return
        if not overview:
            click.echo(f"no runs in {store.root} yet (start one with `workbench run`)")
            return
        rows = [[r["run_id"], r["state"], r["created"][:19].replace("T", " "),
                 f"{r['done']}/{len(r['steps'])}", _duration(r["duration_s"]),
                 ", ".join(r["failed_gates"] or r["stopped_at"])] for r in overview]
        click.echo(format_table(rows, ["run", "state", "created (UTC)", "steps done", "time",
                                       "stopped at"]))

    @runs.command("show")
    @click.argument("run_ref", metavar="RUN")
    @click.option("--json", "as_json", is_flag=True, help="print the manifest")
    def show_cmd(run_ref: str, as_json: bool) -> None:
        """One run: parameters, steps with state, time, gates, metrics and artifacts."""
        run = Project.find().store().open(run_ref)
        if as_json:
            click.echo(json.dumps(run.read(), indent=2))
            return
        echo_run(run_details(run))

    @runs.command("compare")
    @click.argument("run_a", metavar="RUN_A")
    @click.argument("run_b", metavar="RUN_B")
    @click.option("--all", "show_all", is_flag=True, help="show equal values too")
    def compare_cmd(run_a: str, run_b: str, show_all: bool) -> None:
        """Parameters, metrics and gates of two runs side by side."""
        store = Project.find().store()
        a, b = store.open(run_a).record(), store.open(run_b).record()
        for title, left, right in (
            ("parameters", _step_params(a), _step_params(b)),
            ("metrics", _metrics(a), _metrics(b)),
            ("gates", _gates(a), _gates(b)),
        ):
            rows = []
            for key in sorted(set(left) | set(right)):
                x, y = left.get(key), right.get(key)
                if x == y and not show_all:
                    continue
                delta = ""
                if isinstance(x, (int, float)) and isinstance(y, (int, float)) \
                        and not isinstance(x, bool):
                    delta = f"{y - x:+.6g}"
                rows.append([key, _fmt(x), _fmt(y), delta])
            click.secho(f"\n{title}", bold=True)
            if rows:
                click.echo(format_table(rows, ["", a.run_id, b.run_id, "change"]))
            else:
                click.echo("  (identical)" if left or right else "  (none)")


def _step_params(manifest: RunRecord) -> dict[str, Any]:
    return {f"{step}.{name}": value for step, record in manifest.steps.items()
            for name, value in record.parameters.items()}
