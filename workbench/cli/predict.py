"""``workbench predict``: score a file of any size with a run's exported model."""

from __future__ import annotations

import json

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command("predict")
    @click.argument("model_or_run")
    @click.option("--data", "data", required=True,
                  help="file, folder or glob to score (CSV, JSON Lines, Excel, Parquet, "
                       "TFRecord), read as stage 01 reads it")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
                  help="predictions file (its folder must exist); rejects go beside it "
                       "(NAME.rejects.EXT), metadata and summary to NAME.meta.json")
    @click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "jsonl"]),
                  default=None, help="output format; default: from the --out suffix")
    @click.option("--variant", default="savedmodel", show_default=True,
                  help="savedmodel, or tflite:NAME (a variant the run's 05_tflite made)")
    @click.option("--keep-columns", "keep", multiple=True,
                  help="input column copied into the output (repeat, or comma-separate)")
    @click.option("--batch-size", "batch_size", type=int, default=8192, show_default=True,
                  help="rows per model call (memory grows with it)")
    @click.option("--allow-unblessed", is_flag=True,
                  help="score with a model 03_evaluate did not bless (recorded in the output)")
    @click.option("--reject-missing", is_flag=True,
                  help="reject rows with a missing feature value instead of letting the "
                       "model impute it")
    @click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
    def predict_cmd(model_or_run: str, data: str, out: str, fmt: str | None, variant: str,
                    keep: tuple[str, ...], batch_size: int, allow_unblessed: bool,
                    reject_missing: bool, as_json: bool) -> None:
        """Score DATA with the exported SavedModel (or a TFLite variant) of MODEL_OR_RUN.

        MODEL_OR_RUN is a run id (or prefix, or run folder) of this project, or an exported
        SavedModel folder. Rows that cannot be scored go to the rejects file with the reason;
        they never stop the job. Exits non-zero on bad input (missing columns, an unblessed
        model, an output folder that does not exist, an unknown variant).
        """
        from workbench.bulk import predict

        keep_columns = [c.strip() for item in keep for c in item.split(",") if c.strip()]
        bar = None
        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            nonlocal bar
            if total is None:  # a CSV or JSON file: the row count is not known in advance
                import time

                if time.monotonic() - last[0] >= 2:
                    last[0] = time.monotonic()
                    click.echo(f"scoring: {done:,} rows", err=True)
                return
            if bar is None:
                bar = click.progressbar(length=total, label="scoring", show_pos=True,
                                        file=click.get_text_stream("stderr"))
                bar.__enter__()
            bar.update(done - bar.pos)

        try:
            result = predict(model_or_run, data, out, format=fmt, variant=variant,
                             keep_columns=keep_columns, batch_size=batch_size,
                             allow_unblessed=allow_unblessed,
                             on_missing="reject" if reject_missing else "impute",
                             progress=progress)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
        if as_json:
            click.echo(json.dumps(result.summary(), indent=1))
            return
        for line in result.lines():
            click.echo(line)
