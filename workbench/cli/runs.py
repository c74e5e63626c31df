"""``workbench runs list|show|compare``."""

from __future__ import annotations

import json
from typing import Any

import click

from workbench.project import Project

__all__ = ["format_table", "register"]


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


def _gates(manifest: dict[str, Any]) -> dict[str, str]:
    out = {}
    for step, record in manifest.get("steps", {}).items():
        for gate, result in record.get("gates", {}).items():
            out[f"{step}.{gate}"] = "pass" if result.get("passed") else "FAIL"
    return out


def _metrics(manifest: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for step, record in manifest.get("steps", {}).items():
        for name, value in record.get("metrics", {}).items():
            if isinstance(value, (int, float, str, bool)):
                out[f"{step}.{name}"] = value
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)


def register(cli: click.Group) -> None:
    @cli.group("runs")
    def runs() -> None:
        """Inspect the run store."""

    @runs.command("list")
    @click.option("--json", "as_json", is_flag=True, help="one JSON object per run")
    def list_cmd(as_json: bool) -> None:
        """Every run, newest last, with its state and steps."""
        store = Project.find().store()
        rows = []
        for run in store.runs():
            m = run.read()
            steps = m.get("steps", {})
            done = sum(1 for r in steps.values() if r.get("state") in ("succeeded", "cached"))
            if as_json:
                click.echo(json.dumps({"run_id": run.id, "state": m["state"],
                                       "created": m["created"], "steps": {
                                           s: r.get("state") for s, r in steps.items()}}))
                continue
            failed = [s for s, r in steps.items()
                      if r.get("state") in ("failed", "gate_failed", "interrupted")]
            rows.append([run.id, m["state"], m["created"][:19].replace("T", " "),
                         f"{done}/{len(steps)}", _duration(m.get("duration_s")),
                         ", ".join(failed)])
        if not as_json:
            if not rows:
                click.echo(f"no runs in {store.root} yet (start one with `workbench run`)")
                return
            click.echo(format_table(rows, ["run", "state", "created (UTC)", "steps done",
                                           "time", "stopped at"]))

    @runs.command("show")
    @click.argument("run_ref", metavar="RUN")
    @click.option("--json", "as_json", is_flag=True, help="print the manifest")
    def show_cmd(run_ref: str, as_json: bool) -> None:
        """One run: parameters, steps with state, time, gates, metrics and artifacts."""
        run = Project.find().store().open(run_ref)
        m = run.read()
        if as_json:
            click.echo(json.dumps(m, indent=2))
            return
        click.secho(f"run {run.id}: {m['state']}", bold=True)
        click.echo(f"  folder   {run.path}")
        click.echo(f"  created  {m['created']}   time {_duration(m.get('duration_s'))}")
        env = m.get("environment", {})
        git = env.get("git")
        if git:
            click.echo(f"  git      {git['commit'][:12]}{' (with local changes)' if git['dirty'] else ''}")
        pk = env.get("packages", {})
        if pk:
            click.echo("  packages " + ", ".join(f"{k} {pk[k]}" for k in
                                                  ("tensorflow", "keras", "tf-workbench")
                                                  if k in pk))
        if m.get("parameters"):
            click.echo("  parameters " + ", ".join(f"{k}={_fmt(v)}" for k, v in
                                                    m["parameters"].items()))
        rows = []
        for step, r in m.get("steps", {}).items():
            gates = ", ".join(f"{g}:{'pass' if x.get('passed') else 'FAIL'}"
                              for g, x in r.get("gates", {}).items())
            note = f"from {r['cached_from']}" if r.get("cached_from") else ""
            rows.append([step, r.get("state"), _duration(r.get("duration_s")), gates,
                         len(r.get("artifacts", {})), note])
        if rows:
            click.echo("")
            click.echo(format_table(rows, ["step", "state", "time", "gates", "artifacts",
                                           "note"]))
        for step, r in m.get("steps", {}).items():
            for gate, x in r.get("gates", {}).items():
                if not x.get("passed"):
                    click.secho(f"\n{step}: gate {gate} failed", fg="red")
                    for reason in x.get("reasons", []):
                        click.echo(f"  - {reason}")
            if r.get("error"):
                e = r["error"]
                click.secho(f"\n{step}: {e.get('ename')}: {e.get('evalue')}", fg="red")
                click.echo(f"  notebook: {run.path / r.get('notebook', '')}")
            if r.get("metrics"):
                click.echo(f"\n{step} metrics: " + ", ".join(
                    f"{k}={_fmt(v)}" for k, v in r["metrics"].items()
                    if not isinstance(v, (dict, list))))

    @runs.command("compare")
    @click.argument("run_a", metavar="RUN_A")
    @click.argument("run_b", metavar="RUN_B")
    @click.option("--all", "show_all", is_flag=True, help="show equal values too")
    def compare_cmd(run_a: str, run_b: str, show_all: bool) -> None:
        """Parameters, metrics and gates of two runs side by side."""
        store = Project.find().store()
        a, b = store.open(run_a).read(), store.open(run_b).read()
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
                click.echo(format_table(rows, ["", a["run_id"], b["run_id"], "change"]))
            else:
                click.echo("  (identical)" if left or right else "  (none)")


def _step_params(manifest: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for step, record in manifest.get("steps", {}).items():
        for name, value in record.get("parameters", {}).items():
            out[f"{step}.{name}"] = value
    return out
