"""``workbench data``: the bundled datasets."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.group("data")
    def data() -> None:
        """Bundled datasets (nothing is downloaded)."""

    @data.command("list")
    def list_cmd() -> None:
        """The bundled datasets with their task and label."""
        from workbench.data.datasets import datasets

        for info in datasets():
            click.echo(f"{info.name:<14} {info.task:<11} label={info.label:<9} "
                       f"{info.description}")

    @data.command("generate")
    @click.argument("dataset")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
                  help="output file (.csv or .parquet)")
    @click.option("--rows", type=int, help="rows (generated datasets; a sample otherwise)")
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--fault", "faults", multiple=True,
                  help="inject a fault (fraud): negative_ages, unseen_categories, "
                       "missing_values, amount_shift")
    @click.option("--fault-fraction", type=float, default=0.05, show_default=True)
    def generate_cmd(dataset: str, out: str, rows: int | None, seed: int,
                     faults: tuple[str, ...], fault_fraction: float) -> None:
        """Write DATASET to a CSV or Parquet file."""
        from workbench.data.datasets import load_dataset, write_table

        table = load_dataset(dataset, rows=rows, seed=seed, faults=faults,
                             fault_fraction=fault_fraction)
        path = write_table(table, out)
        click.echo(f"wrote {table.num_rows:,} rows x {table.num_columns} columns to {path}")
