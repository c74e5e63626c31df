"""`workbench validate`: a data file checked from the command line, exit codes like a gate."""

from __future__ import annotations

from click.testing import CliRunner
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2

from workbench.cli import cli
from workbench.data.schema import read_schema
from workbench.data.stats import read_statistics


def run_workbench(*args: str, cwd) -> object:  # noqa: ANN001 - in process: no start-up cost
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    result.code, result.out, result.err = result.exit_code, result.stdout, result.stderr
    result.text = result.out + result.err
    return result


def test_validate_a_file_against_a_schema_and_a_baseline(tfdv, tmp_path):
    clean, corrupted = tfdv / "breast_cancer.csv", tfdv / "breast_cancer_corrupted.csv"
    schema = tfdv / "schema_curated.pbtxt"
    ok = run_workbench("validate", str(clean), "--schema", str(schema),
                       "--stats-out", str(tmp_path / "clean.pb"),
                       "--schema-out", str(tmp_path / "inferred.pbtxt"), cwd=tmp_path)
    assert ok.code == 0, ok.text
    assert "569 rows, 32 features" in ok.out and "valid: no error-level anomalies" in ok.out
    assert read_statistics(tmp_path / "clean.pb").datasets[0].num_examples == 569
    inferred = read_schema(tmp_path / "inferred.pbtxt")
    assert inferred.feature[0].drift_comparator.jensen_shannon_divergence.threshold > 0
    for feature in inferred.feature:  # the proposal adds thresholds to TFDV's inference
        feature.ClearField("drift_comparator")
        feature.ClearField("skew_comparator")
    assert inferred == read_schema(tfdv / "schema_inferred.pbtxt")

    bad = run_workbench("validate", str(corrupted), "--schema", str(schema),
                        "--baseline", str(tmp_path / "clean.pb"),
                        "--anomalies-out", str(tmp_path / "anomalies.pbtxt"), cwd=tmp_path)
    assert bad.code == 3, bad.text
    assert "invalid: 4 error-level anomalies" in bad.err
    assert "- mean_radius: 17 of 569 values (3.0%) are below the schema minimum 0" in bad.err
    anomalies = text_format.Parse((tmp_path / "anomalies.pbtxt").read_text(),
                                  anomalies_pb2.Anomalies())
    assert set(anomalies.anomaly_info) == {"mean_radius", "mean_texture", "size_cat"}

    missing = run_workbench("validate", str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert missing.code == 1 and "nope.csv does not exist" in missing.err


def test_validate_reads_a_users_export_as_stage_01_does(tmp_path, monkeypatch):
    from tests.data.fixtures.byod.generate import write_bank_export, write_excel

    bank = write_bank_export(tmp_path / "export.csv", n=400)
    ok = run_workbench("validate", str(bank), cwd=tmp_path)
    assert ok.code == 0, ok.text
    assert "delimiter: ';' (detected" in ok.out and "decimal: ',' (detected" in ok.out
    given = run_workbench("validate", str(bank), "--read", "delimiter=;", "--read",
                          "decimal=,", cwd=tmp_path)
    assert given.code == 0 and "delimiter: ';' (given" in given.out, given.text
    sheets = write_excel(tmp_path / "two.xlsx", sheets=2)
    two = run_workbench("validate", str(sheets), cwd=tmp_path)
    assert two.code == 1 and "has 2 sheets with data: 'Transactions', 'Summary'" in two.err
    assert "sheet='Transactions'" in two.err
    picked = run_workbench("validate", str(sheets), "--read", "sheet=Transactions",
                           cwd=tmp_path)
    assert picked.code == 0, picked.text
    wrong = run_workbench("validate", str(bank), "--read", "delimter=;", cwd=tmp_path)
    assert wrong.code == 1 and "not a reading parameter" in wrong.err
