"""Fast checks of the export library's pure parts: the model contract, comparisons and the
recommendation rule, converter-error parsing, preprocessing constants, notebook parameters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from workbench.errors import ArtifactError, DataError, ParameterError
from workbench.export.compare import (
    agreement,
    metric_drop,
    recommend,
    register_rule,
    rules,
    task_metrics,
)
from workbench.export.contract import (
    ModelInfo,
    canonical_outputs,
    feature_arrays,
    json_safe,
    label_targets,
)
from workbench.export.preprocessed import apply_preprocessing
from workbench.export.tflite import representative_rows, unsupported_ops

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

INFO = {"task": "binary", "label": "y", "classes": [0, 1],
        "features": [{"name": "amount", "dtype": "float32", "kind": "numeric"},
                     {"name": "od280/od315", "input": "od280_od315", "dtype": "float32"},
                     {"name": "country", "dtype": "string", "kind": "categorical"}]}


def test_model_info_keys_inputs_by_input_name_and_reads_columns() -> None:
    info = ModelInfo.from_dict(INFO)
    assert info.names == ["amount", "od280_od315", "country"]
    table = pa.table({"amount": [1.5, None], "od280/od315": [2, 3], "country": ["DE", None],
                      "y": [0, 1]})
    arrays = feature_arrays(table, info)
    assert math.isnan(arrays["amount"][1]) and arrays["amount"].dtype == np.float32
    assert arrays["od280_od315"].tolist() == [2.0, 3.0]
    assert arrays["country"].tolist() == [b"DE", b""]
    assert label_targets(table, info).tolist() == [0, 1]


@pytest.mark.parametrize("doc, match", [
    ({**INFO, "task": "ranking"}, "task 'ranking'"),
    ({**INFO, "features": []}, "lists no features"),
    ({**INFO, "features": [{"name": "a", "dtype": "int32"}]}, "dtype 'int32'"),
    ({**INFO, "task": "multiclass", "classes": [1]}, "fewer than 2 classes"),
])
def test_model_info_errors_name_the_problem(doc, match) -> None:
    with pytest.raises(ArtifactError, match=match) as info:
        ModelInfo.from_dict(doc)
    assert "02_train" in info.value.hint


def test_missing_columns_and_unknown_labels_are_located() -> None:
    info = ModelInfo.from_dict(INFO)
    with pytest.raises(DataError, match="od280/od315") as err:
        feature_arrays(pa.table({"amount": [1.0], "country": ["x"]}), info, source="eval")
    assert err.value.context["file"] == "eval"
    table = pa.table({"y": [0, 7]})
    with pytest.raises(DataError, match=r"values \['7'\]"):
        label_targets(table, info)


def test_canonical_outputs() -> None:
    binary = canonical_outputs(np.array([[0.2], [0.9]]), ModelInfo.from_dict(INFO))
    assert np.allclose(binary["probabilities"], [[0.8, 0.2], [0.1, 0.9]])
    assert binary["class_ids"].tolist() == [0, 1]
    reg = canonical_outputs(np.array([[1.5], [2.0]]),
                            ModelInfo.from_dict({**INFO, "task": "regression", "classes": []}))
    assert reg["value"].tolist() == [1.5, 2.0]


def test_metrics_drop_and_agreement() -> None:
    info = ModelInfo.from_dict(INFO)
    y = np.array([0, 1, 1, 0])
    out = {"probabilities": np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])}
    m = task_metrics(out, y, info)
    assert m["accuracy"] == 0.75 and m["auc"] == 1.0 and m["rows"] == 4
    assert metric_drop(0.90, 0.885, True) == pytest.approx(1.5)
    assert metric_drop(2.0, 2.1, False) == pytest.approx(5.0)  # RMSE: percent of reference
    ref = {"probabilities": np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.7, 0.3]])}
    assert agreement(out, ref, info) == 0.75
    reg = ModelInfo.from_dict({**INFO, "task": "regression", "classes": []})
    assert agreement({"value": np.array([100.0, 0.0])}, {"value": np.array([100.5, 5.0])},
                     reg) == 0.5


def _variant(name, size, b1, drop):
    return {"name": name, "size_bytes": size, "drop": drop,
            "latency": {"1": {"median_ms": b1}, "64": {"median_ms": b1 * 10}}}


def test_recommendation_rules() -> None:
    vs = [_variant("float32", 100, 0.5, 0.0), _variant("dynamic", 30, 0.4, 0.2),
          _variant("int8", 25, 0.3, 3.0)]
    assert recommend(vs, "smallest", 1.0)[0]["name"] == "dynamic"  # int8 is over threshold
    assert recommend(vs, "fastest", 1.0)[0]["name"] == "dynamic"
    assert recommend(vs, "most_accurate", 1.0)[0]["name"] == "float32"
    assert recommend(vs, "smallest", 5.0)[0]["name"] == "int8"
    assert recommend(vs, "int8", 1.0)[0]["name"] == "int8"  # a variant name: that variant
    pick, why = recommend(vs, "smallest", -1.0)
    assert pick["name"] == "float32" and "no variant stays within" in why
    with pytest.raises(ParameterError, match="unknown recommendation rule 'cheap'"):
        recommend(vs, "cheap", 1.0)
    if "largest" not in rules():
        register_rule("largest", lambda ok: max(ok, key=lambda v: v["size_bytes"]))
    assert recommend(vs, "largest", 1.0)[0]["name"] == "float32"


def test_converter_error_parsing() -> None:
    text = ("error: failed while converting: 'main':\nSome ops are not supported by the native "
            "TFLite runtime\nTF Select ops: HashTableV2, LookupTableFindV2\nDetails: ...\n"
            "'tf.DenseBincount' op is neither a custom op nor a flex op")
    assert unsupported_ops(text) == ["DenseBincount", "HashTableV2", "LookupTableFindV2"]


def test_representative_rows_needs_enough_rows() -> None:
    arrays = {"a": np.arange(10, dtype=np.float32)}
    with pytest.raises(DataError, match="only 10 rows") as err:
        representative_rows(arrays, 200, source="01_data_validation/train")
    assert err.value.context["file"] == "01_data_validation/train"
    big = {"a": np.arange(1000, dtype=np.float32)}
    sample = representative_rows(big, 100, seed=1)
    assert len(sample["a"]) == 100 and np.array_equal(sample["a"],
                                                      representative_rows(big, 100, seed=1)["a"])


def test_apply_preprocessing_from_constants() -> None:
    spec = {"inputs": [
        {"name": "amount__pre", "feature": "amount", "dtype": "float32",
         "ops": [{"op": "normalize", "mean": [10.0], "variance": [4.0], "epsilon": 1e-7}]},
        {"name": "country__pre", "feature": "country", "dtype": "float32",
         "ops": [{"op": "lookup", "vocabulary": ["[UNK]", "DE", "FR"], "num_oov_indices": 1,
                    "oov_index": 0, "output_mode": "one_hot", "depth": 3, "keys": "string"}]},
        {"name": "hour__pre", "feature": "hour", "dtype": "int64",
         "ops": [{"op": "bucketize", "boundaries": [6.0, 18.0], "output_mode": "int",
                    "depth": 3}]},
    ]}
    out = apply_preprocessing(spec, {"amount": np.array([12.0, 8.0], np.float32),
                                     "country": np.array([b"FR", b"XX"]),
                                     "hour": np.array([6.0, 23.0], np.float32)})
    assert out["amount__pre"].tolist() == [[1.0], [-1.0]]
    assert out["country__pre"].tolist() == [[0, 0, 1], [1, 0, 0]]
    assert out["hour__pre"].tolist() == [[1], [2]]


def test_json_safe() -> None:
    assert json_safe({"a": float("nan"), "b": [np.float32(1.5), np.inf], "c": np.int64(3)}) == \
        {"a": None, "b": [1.5, None], "c": 3}


def test_class_ids_are_compared_only_where_the_tolerance_cannot_flip_them() -> None:
    from workbench.export.checks import _clear_decisions

    probs = np.array([[0.6, 0.4], [0.5 + 2e-6, 0.5 - 2e-6], [0.1, 0.9]])
    assert _clear_decisions(probs, 0.4, 1e-5).tolist() == [False, True, True]
    assert _clear_decisions(probs, None, 1e-5).tolist() == [True, False, True]
