"""Stage 05 on real TensorFlow and LiteRT: four variants compared with the SavedModel, the
recommendation and the gate; the preprocessed-features variant; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import ParameterError
from workbench.export.contract import ModelInfo, feature_arrays, predict_keras
from workbench.export.litert import LiteRunner
from workbench.export.params import TFLiteParams
from workbench.export.preprocessed import apply_preprocessing, split_preprocessing
from workbench.export.tflite import ConversionError, convert_variant, write_lite_savedmodel
from workbench.export.tflite_stage import convert_tflite
from workbench.runs.step import open_step

from .models import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tflite(signed_export):
    step = open_step("05_tflite", str(signed_export.run.path), "compute")
    result = convert_tflite(step, TFLiteParams(representative=64, latency_runs=20))
    step.finish()
    return signed_export, step, result


def test_four_variants_run_in_litert_and_are_compared(tflite) -> None:
    exported, step, result = tflite
    report = result.report
    by_name = {v["name"]: v for v in report["variants"]}
    assert list(by_name) == ["float32", "dynamic", "float16", "int8"]
    assert all(v["ok"] for v in by_name.values()), report["variants"]
    assert report["inputs"] == "raw" and report["eval_rows"] == exported.trained.eval.num_rows
    f32 = by_name["float32"]
    assert f32["max_abs_diff"] < 1e-5 and f32["agreement"] == 1.0 and abs(f32["drop"]) < 1e-9
    assert by_name["dynamic"]["engine"] == "ai-edge-quantizer"
    assert by_name["dynamic"]["size_bytes"] < f32["size_bytes"]
    assert any("ONE_HOT kept in float" in n for n in by_name["int8"]["notes"])
    for v in by_name.values():
        assert v["agreement"] >= 0.95
        assert set(v["latency"]) == {"1", "64"}
        assert v["latency"]["64"]["runs"] == 20
        assert v["latency"]["1"]["p95_ms"] >= v["latency"]["1"]["median_ms"] > 0
        assert set(v["metrics"]) >= {"auc", "accuracy", "log_loss"}
    sm = report["savedmodel"]
    assert sm["latency"]["1"]["median_ms"] > 0 and sm["metrics"]["auc"] > 0.5
    artifacts = exported.run.read()["steps"]["05_tflite"]["artifacts"]
    for name in by_name:
        path = exported.run.path / artifacts[f"tflite_{name}"]["path"]
        assert path.suffix == ".tflite" and path.stat().st_size == by_name[name]["size_bytes"]
    assert "tflite_report" in artifacts


def test_recommendation_and_gate(tflite) -> None:
    _, step, result = tflite
    report = result.report
    ok = [v for v in report["variants"] if v["drop"] <= report["threshold"]]
    assert report["recommended"] == min(ok, key=lambda v: v["size_bytes"])["name"]
    assert "smallest" in report["reason"]
    gate = step.record.gates["tflite_accuracy"].to_dict()
    assert gate["passed"] and gate["variant"] == report["recommended"]


def test_litert_matches_the_savedmodel_on_raw_features(tflite) -> None:
    import tensorflow as tf

    exported, _, _ = tflite
    content = (exported.run.path / "05_tflite" / "tflite_float32.tflite").read_bytes()
    info = ModelInfo.from_dict(exported.trained.info)
    rows = feature_arrays(exported.trained.eval.slice(0, 64), info)
    lite = LiteRunner(content).predict(rows, batch_size=17)["probabilities"]
    fn = tf.saved_model.load(str(exported.model_dir)).signatures["serving_default"]
    want = fn(**{k: tf.constant(v) for k, v in rows.items()})["probabilities"].numpy()
    assert np.abs(lite - want).max() < 1e-5


def test_a_variant_over_the_threshold_fails_the_gate(signed_export) -> None:
    step = open_step("05_tflite", str(signed_export.run.path), "compute")
    result = convert_tflite(step, TFLiteParams(variants=["float32"], threshold=-0.5, recommend="float32", latency_runs=10))
    reasons = step.record.gates["tflite_accuracy"].reasons
    assert not step.record.gates["tflite_accuracy"].passed
    assert "'float32' loses 0.00 points of auc" in reasons[0]
    assert result.recommended == "float32"


def test_bad_parameters_and_too_few_representative_rows(signed_export) -> None:
    step = open_step("05_tflite", str(signed_export.run.path), "compute")
    with pytest.raises(ParameterError, match="unknown TFLite variant"):
        convert_tflite(step, TFLiteParams(variants=["int4"]))
    with pytest.raises(ParameterError, match="representative=5: int8 calibration needs at "
                                             "least 20 rows") as info:
        convert_tflite(step, TFLiteParams(representative=5))
    assert info.value.context["parameter"] == "representative"
    with pytest.raises(ParameterError, match="recommend=.cheapest.: is neither a recommendation rule"):
        convert_tflite(step, TFLiteParams(variants=["float32"], recommend="cheapest", latency_runs=10))


def test_forced_preprocessed_variants_reproduce_the_savedmodel(signed_export) -> None:
    step = open_step("05_tflite", str(signed_export.run.path), "compute")
    result = convert_tflite(step, TFLiteParams(variants=["float32", "int8"], tflite_inputs="preprocessed", representative=32, latency_runs=10))
    report = result.report
    assert report["inputs"] == "preprocessed"
    assert report["preprocessing_check"]["passed"]
    spec = step.load("tflite_preprocessing")
    assert {e["feature"] for e in spec["inputs"]} == set(ModelInfo.from_dict(
        signed_export.trained.info).names)
    lookups = [s for e in spec["inputs"] for s in e["ops"] if s["op"] == "lookup"]
    assert lookups and all(s["vocabulary"][0] == "[UNK]" for s in lookups)
    assert all(v["ok"] for v in report["variants"])


@pytest.fixture(scope="module")
def integer_lookup_model(export_root):
    return train("binary", export_root / "integer-lookup", lookup="integer", epochs=1,
                 rows=600)


def test_integer_lookup_model_gets_a_preprocessed_variant(integer_lookup_model,
                                                          tmp_path) -> None:
    """IntegerLookup becomes an int64 HashTableV2, which LiteRT built-ins lack."""
    t = integer_lookup_model
    info = ModelInfo.from_dict(t.info)
    raw = write_lite_savedmodel(t.model, info, tmp_path / "raw")
    with pytest.raises(ConversionError) as err:
        convert_variant(raw, "float32")
    assert "HashTableV2" in err.value.message
    assert "tflite_inputs" in err.value.hint and "SELECT_TF_OPS" in err.value.hint

    core, spec = split_preprocessing(t.model, info)
    hour = next(e for e in spec["inputs"] if e["feature"] == "hour")
    assert [s["op"] for s in hour["ops"]] == ["cast", "lookup"]
    inputs = {e["name"]: (e["dtype"], e["shape"]) for e in spec["inputs"]}
    converted = convert_variant(write_lite_savedmodel(core, info, tmp_path / "core",
                                                      inputs=inputs), "float32")
    rows = feature_arrays(t.eval, info)
    lite = LiteRunner(converted.content,
                      preprocess=lambda a: apply_preprocessing(spec, a)).predict(rows)
    want = predict_keras(t.model, rows, info)["probabilities"]
    assert np.abs(lite["probabilities"] - want).max() < 1e-5


def test_widgets_have_static_pictures(tflite) -> None:
    """Executed notebooks opened without a kernel show these (no JavaScript)."""
    from workbench.widgets import ExportView, TFLiteView

    exported, _, result = tflite
    html = TFLiteView(result.report).static_html()
    for name in ("float32", "dynamic", "float16", "int8", "SavedModel (in process)"):
        assert name in html
    assert f"recommended <b>{result.recommended}</b>" in html
    export_html = ExportView(exported.result.report).static_html()
    assert "serving_default" in export_html and "tensorflow/serving/classify" in export_html
    assert "all checks passed" in export_html and "risk-team" in export_html
    assert "approved" in export_html
    assert "<script" not in html + export_html


def test_hashing_layer_cannot_become_constants(tmp_path) -> None:
    import keras

    from workbench.export.preprocessed import PreprocessingError

    inp = keras.Input(shape=(1,), name="device", dtype="string")
    x = keras.layers.Hashing(num_bins=8, output_mode="one_hot", name="hash_device")(inp)
    model = keras.Model({"device": inp}, keras.layers.Dense(1, activation="sigmoid")(x))
    info = ModelInfo.from_dict({"task": "binary", "label": "y", "features": [
        {"name": "device", "dtype": "string", "kind": "categorical"}]})
    with pytest.raises(ConversionError, match="StringToHashBucketFast"):
        convert_variant(write_lite_savedmodel(model, info, tmp_path / "raw"), "float32")
    with pytest.raises(PreprocessingError, match="'hash_device' \\(Hashing\\)") as err:
        split_preprocessing(model, info)
    assert "StringLookup" in err.value.hint
