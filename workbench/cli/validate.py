"""``workbench validate``: statistics and validation of a data file, without a pipeline run.

The headless counterpart of TFDV's ``generate_statistics_from_*`` + ``infer_schema`` +
``validate_statistics``: reads the file in batches (bounded memory), writes the statistics, the
inferred schema and the anomalies on request, and exits 3 when an error-level anomaly is found,
like a failed gate.
"""

from __future__ import annotations

from pathlib import Path

import click

from workbench.errors import EXIT_GATE

__all__ = ["register"]

EVIDENCE_BYTES = 256 << 20


def register(cli: click.Group) -> None:
    @cli.command("validate")
    @click.argument("data", type=click.Path(dir_okay=False))
    @click.option("--schema", "schema_path", type=click.Path(dir_okay=False),
                  help="schema.pbtxt to validate against (default: infer one from the data)")
    @click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False),
                  help="statistics (.pb or .pbtxt) to measure drift against")
    @click.option("--serving", "serving_path", type=click.Path(dir_okay=False),
                  help="serving data file to measure training/serving skew against")
    @click.option("--environment", help="schema environment of DATA, e.g. TRAINING or SERVING")
    @click.option("--drift-threshold", type=float, default=0.1, show_default=True,
                  help="drift threshold of the inferred schema (without --schema)")
    @click.option("--skew-threshold", type=float, default=0.1, show_default=True,
                  help="skew threshold of the inferred schema (without --schema)")
    @click.option("--stats-out", type=click.Path(dir_okay=False),
                  help="write DATA's statistics here (.pb binary, .pbtxt text)")
    @click.option("--schema-out", type=click.Path(dir_okay=False),
                  help="write the schema inferred from DATA here (.pbtxt)")
    @click.option("--anomalies-out", type=click.Path(dir_okay=False),
                  help="write the Anomalies proto here (.pbtxt text, else binary)")
    @click.option("--read", "read_options", multiple=True, metavar="NAME=VALUE",
                  help="how to read DATA, as stage 01's parameters of the same name (delimiter, "
                       "quote_char, encoding, decimal, thousands, null_values, true_values, "
                       "false_values, sheet, date_format, feature_roles); empty: detected")
    @click.option("--engine", type=click.Choice(["local", "beam"]), default="local",
                  show_default=True, help="local: this process; beam: an Apache Beam "
                  "pipeline over the shards of DATA (pip install 'tf-workbench[beam]')")
    @click.option("--beam-option", "beam_options", multiple=True, metavar="NAME=VALUE",
                  help="a Beam pipeline option, e.g. runner=DataflowRunner, "
                  "direct_num_workers=4 (default: the DirectRunner, multi-process, one worker "
                  "per core)")
    def validate_cmd(data: str, schema_path: str | None, baseline_path: str | None,
                     serving_path: str | None, environment: str | None,
                     drift_threshold: float, skew_threshold: float, stats_out: str | None,
                     schema_out: str | None, anomalies_out: str | None,
                     read_options: tuple[str, ...], engine: str,
                     beam_options: tuple[str, ...]) -> None:
        """Compute statistics of DATA and validate them: a CSV/TSV (also .gz/.zst), JSON
        Lines, .xlsx, Parquet or TFRecord file, or a folder or glob of part files, read as
        stage 01 reads it (the dialect detected unless --read gives it).

        Exits 0 when the data is valid, 3 when an error-level anomaly was found, 1 on an
        error.
        """
        from workbench.data.beam_stats import write_anomalies
        from workbench.data.intake import timestamps_as_seconds
        from workbench.data.reading import open_table, read_table
        from workbench.data.schema import infer_schema, read_schema, write_schema
        from workbench.data.stats import compute_statistics, read_statistics, write_statistics
        from workbench.data.validate import validate_statistics

        # Small files are read whole, so messages can count values and name rows; larger
        # ones stream through the statistics in batches, or a Beam pipeline reads the shards.
        overrides = _read_overrides(read_options)
        if beam_options and engine != "beam":
            from workbench.errors import ParameterError

            raise ParameterError("--beam-option applies to --engine beam only",
                                 hint="add --engine beam, or drop --beam-option",
                                 parameter="engine")
        small = Path(data).is_file() and Path(data).stat().st_size <= EVIDENCE_BYTES
        schema = read_schema(schema_path) if schema_path else None
        previous = read_statistics(baseline_path) if baseline_path else None
        beam_anomalies = False
        if engine == "beam":
            # the pipeline validates against a schema; skew needs the serving data's
            # statistics too, so with --serving the anomalies are written here
            beam_anomalies = schema is not None and not serving_path
            stats, read = _beam(data, overrides, beam_options, stats_out, schema, previous,
                                anomalies_out if beam_anomalies else None, environment)
            table, stats_out = None, None
        elif small:
            read = read_table(data, **overrides)
            table = timestamps_as_seconds(read.table)
            stats = compute_statistics(table)
        else:
            table, read = None, open_table(data, **overrides)
            stats = compute_statistics(timestamps_as_seconds(b) for b in read.batches())
        for decision in read.dialect.decisions:
            click.echo(f"  {decision.field}: {decision.value!r} ({decision.how}"
                       + (f": {decision.evidence}" if decision.evidence else "") + ")")
        for warning in read.warnings:
            click.secho(f"  warning: {warning}", fg="yellow")
        inferred = infer_schema(stats, drift_threshold=drift_threshold,
                                skew_threshold=skew_threshold)
        schema = schema or inferred
        report = validate_statistics(
            stats, schema, environment=environment, source=data, data=table,
            previous=previous,
            serving=_serving_statistics(serving_path, overrides, engine, beam_options),
            previous_name=f"baseline {Path(baseline_path).name}" if baseline_path else "",
            serving_name=f"serving data {Path(serving_path).name}" if serving_path else "")
        if stats_out:
            write_statistics(stats, stats_out)
        if schema_out:
            write_schema(inferred, schema_out)
        if anomalies_out and not beam_anomalies:  # else the pipeline wrote them
            write_anomalies(report.anomalies, anomalies_out)
        rows = stats.datasets[0].num_examples
        against = f"schema {schema_path}" if schema_path else "the schema inferred from it"
        click.echo(f"{data}: {rows:,} rows, {len(stats.datasets[0].features)} features, "
                   f"validated against {against}")
        for kind in ("drift", "skew"):
            compared = [c for c in report.comparisons if c.kind == kind]
            if compared:
                above = sum(c.exceeded for c in compared)
                worst = max(compared, key=lambda c: c.value / c.threshold)
                click.echo(f"  {kind}: {len(compared)} features compared, {above} above their "
                           f"threshold (largest: {worst.feature} {worst.value:.4f})")
        for finding in report.warnings:
            click.secho(f"  warning: {finding.sentence()}", fg="yellow")
        if report.passed:
            click.secho("valid: no error-level anomalies", fg="green")
            return
        click.secho(f"invalid: {len(report.errors)} error-level anomalies", fg="red", err=True)
        for finding in report.errors:
            click.echo(f"  - {finding.sentence()}", err=True)
        click.get_current_context().exit(EXIT_GATE)


def _serving_statistics(path: str | None, overrides: dict[str, object], engine: str,
                        beam_options: tuple[str, ...]) -> object:
    """The serving data's statistics, computed where DATA's are."""
    if not path:
        return None
    if engine == "beam":
        import tempfile

        from workbench.data.beam_stats import beam_statistics

        with tempfile.TemporaryDirectory(prefix="workbench-beam-") as tmp:
            return beam_statistics(path, Path(tmp) / "serving.pb", overrides=overrides,
                                   beam_options=list(beam_options)).statistics
    from workbench.data.intake import timestamps_as_seconds
    from workbench.data.reading import read_table
    from workbench.data.stats import compute_statistics

    return compute_statistics(timestamps_as_seconds(read_table(path, **overrides).table))


def _beam(data: str, overrides: dict[str, object], beam_options: tuple[str, ...],
          stats_out: str | None, schema: object, previous: object, anomalies_out: str | None,
          environment: str | None) -> tuple[object, object]:
    """DATA's statistics from the Beam pipeline (which writes them, and the anomalies when a
    schema is given), and how DATA was read."""
    import tempfile

    from workbench.data.beam_stats import beam_statistics

    with tempfile.TemporaryDirectory(prefix="workbench-beam-") as tmp:
        out = beam_statistics(data, stats_out or Path(tmp) / "stats.pb", overrides=overrides,
                              beam_options=list(beam_options), schema=schema,
                              previous=previous, environment=environment,
                              anomalies_out=anomalies_out)
    click.echo(f"  engine: Apache Beam, {out.shards} shard{'s' * (out.shards != 1)}")
    return out.statistics, out  # out has the dialect and warnings of the read


def _read_overrides(items: tuple[str, ...]) -> dict[str, object]:
    """``--read NAME=VALUE`` options as the reading parameters (values are YAML)."""
    from workbench.data.params import DataValidationParams
    from workbench.pipeline.params import parse_assignments, plain

    given = plain(parse_assignments(items))
    unknown = [k for k in given if k not in DataValidationParams.READ]
    if unknown:
        from workbench.errors import ParameterError

        raise ParameterError(f"--read {unknown[0]}: not a reading parameter",
                             hint=f"use one of: {', '.join(DataValidationParams.READ)}",
                             parameter=unknown[0])
    declared = DataValidationParams.parameters()
    raw = parse_assignments(items)
    return {k: declared[k].coerce(plain(raw[k]), getattr(raw[k], "text", None)) for k in given}
