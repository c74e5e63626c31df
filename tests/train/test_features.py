"""The feature plan from real stage-01 statistics and schema, and the preprocessing layers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from workbench.data.datasets import load_dataset
from workbench.data.schema import infer_schema
from workbench.data.stats import compute_statistics
from workbench.errors import ConfigError, DataError
from workbench.features import (
    column_stats,
    input_name,
    plan_features,
    quantile_boundaries,
    schema_domains,
)


def _plan(table: pa.Table, label: str, key: str | None = None, **kw):
    stats = compute_statistics(table)
    return plan_features({f.name: f.type for f in table.schema}, column_stats(stats),
                         schema_domains(infer_schema(stats)), label=label, key=key, **kw)


@pytest.fixture(scope="module")
def fraud() -> pa.Table:
    return load_dataset("fraud", rows=3000, seed=1, faults=["missing_values"],
                        fault_fraction=0.1)


def test_plan_uses_stored_statistics_and_drops_label_and_key(fraud) -> None:
    plan = _plan(fraud, "is_fraud", key="transaction_id")
    names = [f.name for f in plan.features]
    assert "is_fraud" not in names and "transaction_id" not in names
    amount = plan.feature("amount")
    values = fraud.column("amount").to_numpy(zero_copy_only=False)
    assert amount.kind == "numeric" and amount.dtype == "float32"
    assert amount.mean == pytest.approx(np.nanmean(values), rel=1e-6)
    assert amount.variance == pytest.approx(np.nanvar(values), rel=1e-3)
    assert amount.missing_indicator and amount.fill == amount.mean
    device = plan.feature("device")
    assert device.kind == "categorical" and device.dtype == "string"
    assert set(device.vocabulary) >= {"terminal", "mobile", "desktop"}
    assert device.vocabulary[-1] == "", "missing strings get their own index"
    assert not plan.feature("hour").missing_indicator


def test_id_like_categorical_is_dropped_with_a_note(fraud) -> None:
    plan = _plan(fraud, "is_fraud", key=None)
    dropped = {d["name"]: d["reason"] for d in plan.dropped}
    assert "ID-like" in dropped["transaction_id"]
    assert "transaction_id" not in [f.name for f in plan.features]


def test_schema_domain_is_the_vocabulary() -> None:
    table = pa.table({"c": ["a", "b", "a", "b"] * 10, "y": [0, 1] * 20})
    stats = compute_statistics(table)
    schema = infer_schema(stats)
    domain = schema.string_domain.add(name="c_curated")
    domain.value.extend(["a", "b", "z"])
    next(f for f in schema.feature if f.name == "c").domain = "c_curated"
    plan = plan_features({"c": pa.string(), "y": pa.int64()}, column_stats(stats),
                         schema_domains(schema), label="y")
    assert plan.feature("c").vocabulary == ["a", "b", "z"]


def test_names_that_keras_refuses_get_a_safe_input_name() -> None:
    wine = load_dataset("wine")
    plan = _plan(wine, "target")
    f = plan.feature("od280/od315_of_diluted_wines")
    assert f.input == "od280_od315_of_diluted_wines"
    assert f.info()["name"] == "od280/od315_of_diluted_wines"
    assert input_name("a b", taken=["a_b"]) == "a_b_2"
    assert input_name("1st") == "f_1st"


def test_bucketize_by_count_uses_the_quantiles(fraud) -> None:
    plan = _plan(fraud, "is_fraud", key="transaction_id", bucketize={"customer_age": 4,
                                                                    "hour": [6, 12, 18]})
    age = plan.feature("customer_age")
    assert len(age.boundaries) == 3
    quartiles = np.nanquantile(fraud.column("customer_age").to_numpy(zero_copy_only=False),
                               [0.25, 0.5, 0.75])
    assert np.allclose(age.boundaries, quartiles, atol=4)
    assert plan.feature("hour").boundaries == [6.0, 12.0, 18.0]
    kinds = {e.name: (e.kind, e.size) for e in plan.encoded()}
    assert kinds["customer_age__bucket"] == ("index", 4)


def test_quantile_boundaries_without_quantiles_fall_back_to_min_max() -> None:
    from workbench.features.stats import ColumnStats

    col = ColumnStats("x", "numeric", num_non_missing=10, mean=5, std_dev=1, min=0, max=10)
    assert quantile_boundaries(col, 4) == [2.5, 5.0, 7.5]
    with pytest.raises(DataError, match="at least 2 buckets"):
        quantile_boundaries(col, 1)


@pytest.mark.parametrize("kw, message", [
    ({"drop": ["nope"]}, "names column 'nope'"),
    ({"bucketize": {"amount": "many"}}, "bucketize\\['amount'\\]"),
    ({"oov_buckets": 0}, "oov_buckets"),
])
def test_bad_feature_parameters_are_named(fraud, kw, message) -> None:
    with pytest.raises(ConfigError, match=message):
        _plan(fraud, "is_fraud", key="transaction_id", **kw)


def test_no_usable_feature_says_why() -> None:
    table = pa.table({"id": [f"x{i}" for i in range(400)], "y": [0, 1] * 200})
    with pytest.raises(DataError, match="no usable feature") as err:
        _plan(table, "y")
    assert "ID-like" in err.value.hint


def test_preprocessor_imputes_normalizes_and_looks_up(fraud) -> None:
    import tensorflow as tf

    from workbench.features.preprocess import build_preprocessor

    plan = _plan(fraud, "is_fraud", key="transaction_id")
    model = build_preprocessor(plan)
    amount, device = plan.feature("amount"), plan.feature("device")
    rows = {f.input: tf.constant([[1.0], [np.nan], [3.0]]) if f.kind == "numeric" else
            tf.constant([["terminal"], [""], ["never-seen"]]) for f in plan.features}
    out = {k: v.numpy().ravel() for k, v in model(rows).items()}
    std = np.sqrt(amount.variance)
    assert out["amount"][0] == pytest.approx((1.0 - amount.mean) / std, rel=1e-5)
    assert out["amount"][1] == pytest.approx(0.0, abs=1e-6), "missing → the mean → 0"
    assert out["amount__missing"].tolist() == [0.0, 1.0, 0.0]
    vocab = device.vocabulary
    assert out["device"].tolist() == [1 + vocab.index("terminal"), 1 + vocab.index(""), 0]


@pytest.mark.slow
def test_a_trained_model_loads_in_a_process_that_never_imported_the_workbench(tmp_path) -> None:
    """The model contract: keras.saving.load_model restores it without extra arguments."""
    import keras

    from workbench.features.preprocess import build_preprocessor, raw_inputs

    table = load_dataset("fraud", rows=300, seed=3)
    plan = _plan(table, "is_fraud", key="transaction_id")
    raw = raw_inputs(plan)
    encoded = build_preprocessor(plan)(raw)
    out = keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.Concatenate()([encoded[e.name] if e.kind == "dense" else
                                    keras.ops.cast(encoded[e.name], "float32")
                                    for e in plan.encoded()]))
    model = keras.Model(raw, out)
    path = tmp_path / "model.keras"
    model.save(path)
    code = ("import keras, numpy as np, tensorflow as tf, sys; "
            f"m = keras.saving.load_model({str(path)!r}); "
            "x = {i.name: tf.constant([['DE']] if i.dtype == 'string' else [[np.nan]]) "
            "for i in m.inputs}; "
            "p = float(np.asarray(m(x))[0, 0]); print(0 <= p <= 1); "
            "assert 'workbench' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("True")
