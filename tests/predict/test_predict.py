"""``workbench.predict`` on a real export: outputs equal the model's, bad rows go to the rejects
file with their reasons, bad input is refused with a message that says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from workbench.errors import DataError, ParameterError

from .conftest import Scored

pytestmark = pytest.mark.slow


def _expected(exported: Scored, table: pa.Table) -> np.ndarray:
    """The in-memory Keras model's probability of fraud for ``table``."""
    from workbench.export.contract import ModelInfo, feature_arrays, predict_keras

    info = ModelInfo.from_dict(exported.trained.info)
    return predict_keras(exported.trained.model, feature_arrays(table, info), info)[
        "probabilities"][:, 1]


def test_parquet_predictions_match_the_model_and_carry_the_model_in_metadata(
        exported: Scored, tmp_path: Path) -> None:
    import workbench

    data = tmp_path / "rows.parquet"
    pq.write_table(exported.rows, data, row_group_size=700)
    out = tmp_path / "scored.parquet"
    seen: list[tuple[int, int | None]] = []
    result = workbench.predict(exported.run.id, data, out, store=exported.store,
                               keep_columns=["amount", "Country"], batch_size=1000,
                               progress=lambda done, total: seen.append((done, total)))
    assert (result.rows, result.scored, result.rejected) == (3000, 3000, 0)
    table = pq.read_table(out)
    assert table.column_names == ["row", "transaction_id", "amount", "country",
                                  "predicted_class", "probability_0", "probability_1"]
    assert table.column("transaction_id").to_pylist() == \
        exported.rows.column("transaction_id").to_pylist()
    np.testing.assert_allclose(table.column("probability_1").to_numpy(),
                               _expected(exported, exported.rows), atol=1e-5)
    meta = {k.decode(): v.decode() for k, v in pq.read_schema(out).metadata.items()}
    assert meta["workbench.run_id"] == exported.run.id
    assert meta["workbench.variant"] == "savedmodel" and meta["workbench.blessed"] == "true"
    record = exported.run.record().artifact("04_export", "saved_model")
    assert meta["workbench.model_sha256"] == record.sha256
    assert meta["workbench.model_version"] == record.sha256.removeprefix("sha256:")[:12]
    assert seen[-1] == (3000, 3000) and len(seen) >= 3  # progress per batch, total known
    summary = json.loads((tmp_path / "scored.parquet.meta.json").read_text())
    classes = summary["distribution"]["classes"]
    assert sum(classes.values()) == 3000 and summary["rows_per_s"] > 0
    assert sum(summary["distribution"]["probability_histogram"]["counts"]) == 3000
    assert pq.read_table(result.rejects).num_rows == 0
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written left behind


def test_rows_that_cannot_be_scored_go_to_the_rejects_file_with_reasons(
        exported: Scored, tmp_path: Path) -> None:
    import workbench

    rows = exported.rows.slice(0, 400)
    data = tmp_path / "rows.csv"
    pacsv.write_csv(rows, data)
    lines = data.read_text().splitlines()
    header = [h.strip('"') for h in lines[0].split(",")]
    amount, hour = header.index("amount"), header.index("hour")

    def spoil(line_no: int, column: int, value: str) -> None:
        cells = lines[line_no].split(",")
        cells[column] = value
        lines[line_no] = ",".join(cells)

    spoil(3, amount, "12,50 EUR".replace(",", ";"))  # data row 3: not a number
    spoil(10, hour, "")                              # data row 10: missing
    spoil(11, amount, "inf")                         # data row 11: not a number either
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scored.csv"
    result = workbench.predict(exported.run.path, data, out, store=exported.store,
                               on_missing="reject", batch_size=128)
    assert (result.rows, result.scored, result.rejected) == (400, 397, 3)
    rejects = pacsv.read_csv(result.rejects).to_pylist()
    assert [r["row"] for r in rejects] == [3, 10, 11]
    assert [r["key"] for r in rejects] == rows.column("transaction_id").take([2, 9, 10]) \
        .to_pylist()
    assert rejects[0]["reason"] == "feature 'amount' is '12;50 EUR', not a number"
    assert rejects[1]["reason"] == "feature 'hour' is missing"
    assert rejects[2]["reason"] == "feature 'amount' is 'inf', not a number"
    assert json.loads(rejects[0]["values"])["amount"] == "12;50 EUR"
    scored = pacsv.read_csv(out)
    assert 3 not in scored.column("row").to_pylist() and scored.num_rows == 397
    keep = pc.invert(pc.is_in(pa.array(range(400)), pa.array([2, 9, 10])))
    np.testing.assert_allclose(scored.column("probability_1").to_numpy(),
                               _expected(exported, rows.filter(keep)), atol=1e-5)
    assert result.reject_reasons == {"feature 'amount' is …, not a number": 2,
                                     "feature 'hour' is missing": 1}
    # by default a missing value is imputed by the model, as in training
    again = workbench.predict(exported.run.path, data, tmp_path / "again.jsonl",
                              store=exported.store)
    assert (again.scored, again.rejected) == (398, 2)
    first = json.loads((tmp_path / "again.jsonl").read_text().splitlines()[0])
    assert first["row"] == 1 and first["transaction_id"] == "tx000000000"


def test_the_tflite_variant_scores_like_the_savedmodel(exported: Scored, tmp_path: Path
                                                       ) -> None:
    import workbench

    data = tmp_path / "rows.parquet"
    pq.write_table(exported.rows.slice(0, 500), data)
    result = workbench.predict(exported.run.id, data, tmp_path / "lite.parquet",
                               store=exported.store, variant="tflite:float32")
    assert result.scored == 500 and result.model["workbench.variant"] == "tflite:float32"
    lite = pq.read_table(tmp_path / "lite.parquet").column("probability_1").to_numpy()
    np.testing.assert_allclose(lite, _expected(exported, exported.rows.slice(0, 500)),
                               atol=1e-4)
    with pytest.raises(ParameterError, match="has no TFLite variant 'int8'") as err:
        workbench.predict(exported.run.id, data, tmp_path / "x.parquet", store=exported.store,
                          variant="tflite:int8")
    assert err.value.hint == "its variants: tflite:float32"


def test_bad_input_is_refused_with_what_to_do(exported: Scored, tmp_path: Path) -> None:
    import workbench
    from tests.export.models import make_run

    data = tmp_path / "rows.parquet"
    pq.write_table(exported.rows.slice(0, 50).drop_columns(["amount", "device"]), data)
    with pytest.raises(DataError, match=r"lacks 2 of the model's 11 input column\(s\): "
                                        r"amount, device"):
        workbench.predict(exported.run.id, data, tmp_path / "x.parquet", store=exported.store)
    with pytest.raises(ParameterError, match="folder of the output .* does not exist") as err:
        workbench.predict(exported.run.id, data, tmp_path / "no" / "x.parquet",
                          store=exported.store)
    assert "mkdir -p" in err.value.hint
    with pytest.raises(ParameterError, match="cannot tell the output format"):
        workbench.predict(exported.run.id, data, tmp_path / "x.txt", store=exported.store)

    # an unblessed model: refused, unless the override is given (and then recorded)
    full = tmp_path / "full.parquet"
    pq.write_table(exported.rows.slice(0, 50), full)
    unblessed = make_run(tmp_path / "u", exported.trained, blessed=False)
    store = type(exported.store)(tmp_path / "u" / "runs")
    export_dir = exported.run.path / "04_export"
    (unblessed.path / "04_export").symlink_to(export_dir)
    unblessed.edit(lambda r: r.steps.__setitem__(
        "04_export", exported.run.record().steps["04_export"]))
    with pytest.raises(ParameterError, match="is not blessed") as err:
        workbench.predict(unblessed.id, full, tmp_path / "u.parquet", store=store)
    assert "--allow-unblessed" in err.value.hint
    result = workbench.predict(unblessed.id, full, tmp_path / "u.parquet", store=store,
                               allow_unblessed=True)
    meta = pq.read_schema(tmp_path / "u.parquet").metadata
    assert meta[b"workbench.unblessed_override"] == b"true"
    assert meta[b"workbench.blessed"] == b"false" and result.scored == 50


def test_a_model_failure_rejects_only_the_failing_rows() -> None:
    from workbench.bulk.core import _score

    def scorer(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = arrays["x"]
        if (x < 0).any():
            raise ValueError("negative input")
        return {"value": x * 2}

    arrays = {"x": np.array([1.0, -1.0, 2.0, 3.0, -5.0, 4.0], dtype=np.float32)}
    failed: dict[int, str] = {}
    done, out = _score(scorer, arrays, np.arange(6), failed)
    assert done.tolist() == [0, 2, 3, 5] and out["value"].tolist() == [2, 4, 6, 8]
    assert sorted(failed) == [1, 4]
    assert failed[1] == "the model failed on this row: ValueError: negative input"
