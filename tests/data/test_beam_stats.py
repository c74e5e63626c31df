"""Statistics on Apache Beam: the DirectRunner in multi-process mode with 2 workers gives the
in-memory results on sharded data, for `workbench validate --engine beam` and stage 01."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from workbench.data.beam_stats import (
    beam_split_statistics,
    beam_statistics,
    pipeline_options,
)
from workbench.data.params import DataValidationParams
from workbench.data.reading import read_table
from workbench.data.schema import infer_schema, write_schema
from workbench.data.stage import ingest, validate
from workbench.data.stats import StatsOptions, compute_statistics, read_statistics
from workbench.data.tfrecord import write_tfrecord
from workbench.data.validate import validate_statistics
from workbench.errors import DataError, ParameterError
from workbench.runs.step import Step
from workbench.runs.store import RunStore

from ..conftest import run_workbench

pytestmark = pytest.mark.slow  # each pipeline starts two worker processes
TWO_WORKERS = {"direct_running_mode": "multi_processing", "direct_num_workers": 2}
COUNTRIES = ["DE", "FR", "Österreich", "日本", "España"]


def _table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3, 1, rows)
    return pa.table({
        "amount": pa.array(amount, mask=rng.random(rows) < 0.03),
        "age": pa.array(rng.integers(18, 90, rows), mask=rng.random(rows) < 0.02),
        "country": pa.array(rng.choice(COUNTRIES, rows, p=[.4, .3, .15, .1, .05]),
                            mask=rng.random(rows) < 0.01),
        "merchant": pa.array([f"m{v}" for v in rng.integers(0, 300, rows)]),
        "is_fraud": pa.array(rng.integers(0, 2, rows)),
    })


def _shards(folder: Path, fmt: str, sizes=(3000, 2500, 1800), seed: int = 0) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for i, rows in enumerate(sizes):
        table = _table(rows, seed + i)
        path = folder / f"part-{i}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(table, path)
        elif fmt == "parquet":
            pq.write_table(table, path)
        else:
            write_tfrecord(table, path)
    return str(folder / f"part-*.{fmt}")


def _features(ds):
    return {f.path.step[0]: f for f in ds.features}


def assert_same_statistics(got, want, *, quantile_rank_error: float = 0.0, data=None):
    """Counts, missing counts, vocabularies and top values equal; moments to rounding;
    quantiles equal, or within ``quantile_rank_error`` in rank of the exact ones."""
    assert [d.name for d in got.datasets] == [d.name for d in want.datasets]
    for g_ds, w_ds in zip(got.datasets, want.datasets, strict=True):
        assert g_ds.num_examples == w_ds.num_examples
        g_f, w_f = _features(g_ds), _features(w_ds)
        assert g_f.keys() == w_f.keys()
        for name, w in w_f.items():
            g = g_f[name]
            assert g.type == w.type, name
            if w.HasField("num_stats"):
                gc, wc = g.num_stats.common_stats, w.num_stats.common_stats
                assert (gc.num_missing, gc.num_non_missing) == (wc.num_missing, wc.num_non_missing)
                assert (g.num_stats.min, g.num_stats.max, g.num_stats.num_zeros) == \
                    (w.num_stats.min, w.num_stats.max, w.num_stats.num_zeros)
                assert g.num_stats.mean == pytest.approx(w.num_stats.mean, rel=1e-12)
                assert g.num_stats.std_dev == pytest.approx(w.num_stats.std_dev, rel=1e-9)
                g_q = [b.high_value for b in g.num_stats.histograms[1].buckets]
                w_q = [b.high_value for b in w.num_stats.histograms[1].buckets]
                if not quantile_rank_error:
                    assert g_q == pytest.approx(w_q, rel=1e-12), name
                else:
                    values = np.sort(data.column(name).drop_null().to_numpy())
                    for k, (gq, wq) in enumerate(zip(g_q[:-1], w_q[:-1], strict=True), 1):
                        for q in (gq, wq):  # ties: q covers the ranks [below, up to]
                            below = np.searchsorted(values, q, side="left") / len(values)
                            upto = np.searchsorted(values, q, side="right") / len(values)
                            target = k / len(g_q)
                            assert below - quantile_rank_error <= target <= \
                                upto + quantile_rank_error, (name, k)
            else:
                gs, ws = g.string_stats, w.string_stats
                gc, wc = gs.common_stats, ws.common_stats
                assert (gc.num_missing, gc.num_non_missing) == (wc.num_missing, wc.num_non_missing)
                assert gs.unique == ws.unique, name
                assert [(v.value, v.frequency) for v in gs.top_values] == \
                    [(v.value, v.frequency) for v in ws.top_values], name
                assert [(b.label, b.sample_count) for b in gs.rank_histogram.buckets] == \
                    [(b.label, b.sample_count) for b in ws.rank_histogram.buckets], name


@pytest.mark.parametrize("fmt", ["csv", "parquet", "tfrecord"])
def test_sharded_files_give_the_in_memory_statistics_with_slices(tmp_path, fmt):
    glob = _shards(tmp_path / fmt, fmt)
    got = beam_statistics(glob, tmp_path / "stats.pb", beam_options=TWO_WORKERS,
                          slice_by="country")
    assert got.shards == 3 and read_statistics(tmp_path / "stats.pb") == got.statistics
    want = compute_statistics(read_table(glob).table, slice_by="country")
    assert len(want.datasets) == 1 + len(COUNTRIES)  # Unicode slice names included
    assert_same_statistics(got.statistics, want)


def test_quantiles_within_the_sketch_error_and_identical_anomalies(tmp_path):
    """Data larger than the sketch: quantiles are approximate on both paths, within the stated
    rank error (0.5/sqrt(capacity)) of the exact ones; anomalies against a schema and a
    baseline are the same proto."""
    options = StatsOptions(sketch_capacity=1024)
    glob = _shards(tmp_path / "big", "parquet", sizes=(6000, 5000, 4000, 3000))
    table = read_table(glob).table
    got = beam_statistics(glob, tmp_path / "stats.pb", beam_options=TWO_WORKERS,
                          options=options)
    want = compute_statistics(table, options=options)
    assert_same_statistics(got.statistics, want, quantile_rank_error=2 * 0.5 / 1024 ** 0.5,
                           data=table)

    # a baseline from other data, a schema that the new data breaks (a new country, ages
    # below the range): the pipeline writes the anomalies; the in-memory path gives the same
    base_glob = _shards(tmp_path / "base", "parquet", sizes=(4000,), seed=50)
    baseline = compute_statistics(read_table(base_glob).table.filter(
        pa.compute.field("country") != "España"))
    schema = infer_schema(baseline, infer_ranges=True, drift_threshold=0.01)
    got = beam_statistics(glob, tmp_path / "s2.pb", beam_options=TWO_WORKERS, schema=schema,
                          previous=baseline, anomalies_out=tmp_path / "anomalies.pb")
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    written = anomalies_pb2.Anomalies.FromString((tmp_path / "anomalies.pb").read_bytes())
    report = validate_statistics(compute_statistics(table), schema, source=glob,
                                 previous=baseline, previous_name="the baseline")
    assert written == report.anomalies
    assert "country" in written.anomaly_info and written.drift_skew_info


def test_validate_cli_engine_beam_matches_local_and_fails_the_gate(tmp_path):
    glob = _shards(tmp_path / "csv", "csv")
    schema = infer_schema(compute_statistics(_table(500, 99).filter(
        pa.compute.field("country") != "日本")), skew_threshold=0.1)
    write_schema(schema, tmp_path / "schema.pbtxt")
    outs = {}
    for engine in ("local", "beam"):
        extra = ["--engine", "beam", "--beam-option", "direct_num_workers=2"] \
            if engine == "beam" else []
        done = run_workbench("validate", glob, "--schema", str(tmp_path / "schema.pbtxt"),
                             "--stats-out", str(tmp_path / f"{engine}.pb"),
                             "--anomalies-out", str(tmp_path / f"{engine}.anomalies.pbtxt"),
                             "--serving", str(tmp_path / "csv" / "part-1.csv"),
                             *extra, cwd=tmp_path)
        assert done.code == 3, done.err  # 日本 is not in the schema's domain
        assert "日本" in done.err
        outs[engine] = done
    assert "engine: Apache Beam, 3 shards" in outs["beam"].out
    skew = [line for line in outs["local"].out.splitlines() if "skew:" in line]
    assert skew and skew == [line for line in outs["beam"].out.splitlines() if "skew:" in line]
    assert_same_statistics(read_statistics(tmp_path / "beam.pb"),
                           read_statistics(tmp_path / "local.pb"))
    assert (tmp_path / "beam.anomalies.pbtxt").read_text() == \
        (tmp_path / "local.anomalies.pbtxt").read_text()
    assert outs["beam"].err.count("error-level") == outs["local"].err.count("error-level")
    assert "Traceback" not in outs["beam"].err and "sdk harness" not in outs["beam"].err


def test_stage_01_engine_beam_gives_the_local_results(tmp_path):
    glob = _shards(tmp_path / "csv", "csv", sizes=(900, 700, 600))
    results = {}
    for engine in ("local", "beam"):
        run = RunStore(tmp_path / engine / "runs").create(state="interactive")
        step = Step(run, "01_data_validation", "compute")
        extra = {"beam_options": {"direct_num_workers": "2"}} if engine == "beam" else {}
        p = DataValidationParams(data_path=glob, label="is_fraud", slice_by="country",
                                 engine=engine, **extra)
        p.check()
        data = ingest(step, p, project_root=tmp_path)
        results[engine] = validate(step, data, p, project_root=tmp_path)
    local, beam = results["local"], results["beam"]
    assert_same_statistics(beam.stats_train, local.stats_train)
    assert_same_statistics(beam.stats_eval, local.stats_eval)
    assert beam.schema_inferred == local.schema_inferred
    assert beam.anomalies == local.anomalies and beam.table == local.table
    assert beam.passed == local.passed


def test_bad_input_is_refused_with_the_fix(tmp_path):
    with pytest.raises(DataError, match="matches no file") as err:
        beam_statistics(str(tmp_path / "none-*.csv"), tmp_path / "s.pb")
    assert err.value.context["parameter"] == "data_path"
    with pytest.raises(ParameterError, match="not an Apache Beam .* pipeline option") as err:
        pipeline_options({"direct_num_wrkers": 2})
    assert "direct_num_workers" in err.value.hint
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        pipeline_options(["runner"])
    with pytest.raises(DataError, match="gs:// paths"):
        beam_statistics("gs://bucket/part-*.csv", tmp_path / "s.pb")
    with pytest.raises(ParameterError, match="applies to engine \"beam\" only"):
        DataValidationParams(beam_options={"runner": "DirectRunner"}).check()
    with pytest.raises(ParameterError, match="not an Apache Beam"):
        DataValidationParams(engine="beam", beam_options={"runer": "DirectRunner"}).check()

    # shards with different columns: the shard and the columns are named, before any work
    folder = tmp_path / "mixed"
    _shards(folder, "csv", sizes=(50, 50))
    pacsv.write_csv(_table(50, 7).drop_columns(["age"]).append_column(
        "Alter", pa.array(range(50))), folder / "part-2.csv")
    with pytest.raises(DataError, match="part-2.csv differs from part-0.csv: it lacks 'age'; "
                       "it has 'Alter'") as err:
        beam_statistics(str(folder / "*.csv"), tmp_path / "s.pb")
    assert err.value.context["file"].endswith("part-2.csv")
    pfolder = tmp_path / "pmixed"
    _shards(pfolder, "parquet", sizes=(50, 50))
    pq.write_table(_table(50, 7).drop_columns(["country"]), pfolder / "part-2.parquet")
    with pytest.raises(DataError, match="part-2.parquet differs .* it lacks 'country'"):
        beam_statistics(str(pfolder / "*.parquet"), tmp_path / "s.pb")

    # a bad value deep in one shard: a worker finds it; the driver raises the same error
    bad = tmp_path / "bad"
    _shards(bad, "csv", sizes=(2000, 2000))
    lines = (bad / "part-1.csv").read_text().splitlines()
    lines[1500] = "1.5,not a number,DE,m1,0"
    (bad / "part-1.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="'age' .* mixes numbers and text.*part-1.csv") as err:
        beam_statistics(str(bad / "*.csv"), tmp_path / "s.pb", beam_options=TWO_WORKERS)
    assert err.value.context["file"].endswith("part-1.csv") and "null_values" in err.value.hint
    assert not (tmp_path / "s.pb").exists()  # nothing half-written


def test_without_the_extra_the_error_says_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['apache_beam'] = None\n"
            "from workbench.data.params import DataValidationParams\n"
            "DataValidationParams(engine='beam').check()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode != 0
    assert "needs Apache Beam, which is not installed" in done.stderr
    assert "pip install 'tf-workbench[beam]'" in done.stderr


def test_split_statistics_in_one_pipeline(tmp_path):
    glob = _shards(tmp_path / "p", "parquet", sizes=(800, 600))
    parts = sorted(Path(tmp_path / "p").glob("*.parquet"))
    got = beam_split_statistics({"train": parts[0], "eval": parts[1]}, plain=True,
                                beam_options=TWO_WORKERS, slice_by="country")
    assert set(got) == {"train", "eval", "all"}
    assert [d.name for d in got["train"].datasets][0] == "train"
    assert len(got["train"].datasets) == 1 + len(COUNTRIES)
    assert_same_statistics(got["all"], compute_statistics(read_table(glob).table, name="all"))


def _messy_exports(folder: Path) -> None:
    """Three days of a European export: ';' and decimal commas, a byte-order mark, quoted
    names with the delimiter and quotes in them, Unicode everywhere, 'NA' for missing."""
    rng = np.random.default_rng(3)
    names = ["Zoë's Café", "Müller & Söhne", "東京ラーメン", 'Café "Le Nord"', "Ørsted; ApS"]
    folder.mkdir(parents=True)
    for day in range(3):
        lines = ["Transaktions-ID;Betrag (€);Händler;Land;Alter;Betrug"]
        for i in range(1500):
            amount = "NA" if rng.random() < 0.02 else f"{rng.lognormal(3, 1):.2f}".replace(".", ",")
            name = names[rng.integers(0, 5)]
            if ";" in name or '"' in name:
                name = '"' + name.replace('"', '""') + '"'
            lines.append(f"T{day}-{i};{amount};{name};{['DE', 'AT', '日本'][rng.integers(0, 3)]};"
                         f"{rng.integers(18, 90)};{['nein', 'ja'][int(rng.random() < 0.1)]}")
        (folder / f"tx-2026-11-{day + 1:02d}.csv").write_text("\n".join(lines) + "\n",
                                                              encoding="utf-8-sig")


def test_the_stage_notebook_with_engine_beam_writes_the_local_artifacts(tmp_path):
    """Headless, through the stage's notebook in a real kernel: the Beam pipeline's driver runs
    in a child process there (Beam's notebook hooks need pandas < 3), and every statistics,
    schema and anomalies artifact is byte for byte the local one."""
    _messy_exports(tmp_path / "exports")
    common = ["run", "--to", "01_data_validation", "-p", f"data_path={tmp_path / 'exports'}",
              "-p", "label=Betrug", "-p", "slice_by=Land"]
    for engine in ("local", "beam"):
        project = tmp_path / engine
        project.mkdir()
        done = run_workbench(*common, "-p", f"engine={engine}",
                             *(["-p", 'beam_options={"direct_num_workers": "2"}']
                               if engine == "beam" else []), cwd=project)
        assert done.code == 0, done.err
    steps = {e: next((tmp_path / e / "runs").glob("*/01_data_validation")) for e in
             ("local", "beam")}
    for name in ("stats_train.pb", "stats_eval.pb", "schema_inferred.pbtxt", "anomalies.pb",
                 "anomalies_table.json", "data_card.json"):
        assert (steps["beam"] / name).read_bytes() == (steps["local"] / name).read_bytes(), name
    stats = read_statistics(steps["beam"] / "stats_train.pb")
    assert {d.name for d in stats.datasets} == {"train", "land_DE", "land_AT", "land_日本"}


def test_the_default_runner_fetches_nothing():
    """Beam 2.77's DirectRunner first tries Prism, downloaded at run time; the default (and an
    explicit DirectRunner) is its batch engine in multi-process mode, which fetches nothing."""
    for given in (None, {"runner": "DirectRunner"}):
        options = pipeline_options(given).get_all_options()
        assert options["runner"] == "FnApiRunner"
        assert options["direct_running_mode"] == "multi_processing"
    assert pipeline_options({"runner": "DataflowRunner"}).get_all_options()["runner"] == \
        "DataflowRunner"
