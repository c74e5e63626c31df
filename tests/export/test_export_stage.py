"""Stage 04 on real TensorFlow: signatures TF Serving accepts, metadata, warmup, integrity,
the checks and the gate; and the bad inputs the issue names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from workbench.errors import IntegrityError, ParameterError
from workbench.export.integrity import SigningKeyError, verify_export
from workbench.export.metadata import METADATA_FILE
from workbench.export.params import ExportParams
from workbench.export.stage import ExportRefused, export_model
from workbench.export.warmup import WARMUP_FILE, read_warmup, request_inputs
from workbench.runs.step import open_step

from .models import make_run, train

pytestmark = pytest.mark.slow


def test_export_passes_every_check(signed_export) -> None:
    report = signed_export.result.report
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) == {"tf2_load", "example_signature", "tf1_loader", "saved_model_cli",
                           "parity", "warmup", "integrity"}
    failed = {n: c["detail"] for n, c in checks.items() if not c["passed"]}
    assert not failed
    assert checks["parity"]["max_abs_diff"] <= 1e-5
    assert checks["parity"]["rows"] == signed_export.trained.eval.num_rows
    gates = signed_export.run.read()["steps"]["04_export"]["gates"]
    assert gates["export_checks"]["passed"]
    assert report["sha256"] == signed_export.run.read()["steps"]["04_export"]["artifacts"][
        "saved_model"]["sha256"]


def test_signatures_are_what_tf_serving_needs(signed_export) -> None:
    sigs = signed_export.result.report["signatures"]
    assert set(sigs) == {"serving_default", "classify"}
    default, classify = sigs["serving_default"], sigs["classify"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert classify["method_name"] == "tensorflow/serving/classify"
    names = [f["name"] for f in signed_export.trained.info["features"]]
    assert sorted(default["inputs"]) == sorted(names)
    assert default["inputs"]["amount"]["dtype"] == "float32"
    assert default["inputs"]["country"]["dtype"] == "string"
    assert all(t["shape"] == [-1] for t in default["inputs"].values())
    assert default["outputs"]["probabilities"] == {**default["outputs"]["probabilities"],
                                                   "dtype": "float32", "shape": [-1, 2]}
    assert default["outputs"]["class_ids"]["dtype"] == "int64"
    assert default["outputs"]["classes"]["dtype"] == "string"
    assert list(classify["inputs"]) == ["inputs"]
    assert classify["outputs"]["classes"]["shape"] == [-1, 2]
    assert classify["outputs"]["scores"]["dtype"] == "float32"


def test_tf1_session_runs_classify_on_serialized_examples(signed_export) -> None:
    """What TF Serving's Classify API does: TF1 loader, feed serialized tf.Examples."""
    import tensorflow as tf

    from workbench.export.contract import ModelInfo, feature_arrays
    from workbench.export.signatures import serialize_examples, to_examples

    info = ModelInfo.from_dict(signed_export.trained.info)
    rows = feature_arrays(signed_export.trained.eval.slice(0, 5), info)
    spec = {e["input"]: e["type"] for e in signed_export.result.report["example_spec"]}
    serialized = serialize_examples(to_examples(rows, spec, info))
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"],
                                                   str(signed_export.model_dir))
        sig = meta.signature_def["classify"]
        scores, classes = sess.run([sig.outputs["scores"].name, sig.outputs["classes"].name],
                                   {sig.inputs["inputs"].name: serialized})
    assert scores.shape == (5, 2) and np.allclose(scores.sum(axis=1), 1, atol=1e-5)
    assert classes[0].tolist() == [b"0", b"1"]


def test_metadata_traces_the_model_to_its_data(signed_export) -> None:
    meta = json.loads((signed_export.model_dir / METADATA_FILE).read_text())
    manifest = signed_export.run.read()
    assert meta["run_id"] == signed_export.run.id
    for ref in ("01_data_validation/train", "01_data_validation/eval", "02_train/model"):
        step, name = ref.split("/")
        assert meta["data"]["sha256"][ref] == \
            manifest["steps"][step]["artifacts"][name]["sha256"]
    assert meta["evaluation"]["blessed"] is True
    assert meta["evaluation"]["metrics"]["auc"] == 0.8
    assert meta["approval"] == {"status": "approved", "by": "risk-team"}
    assert meta["override"] is None
    assert meta["parameters"]["warmup_records"] == 24
    assert meta["environment"]["packages"]["tensorflow"].startswith("2.")
    assert "ai-edge-quantizer" in meta["environment"]["packages"]


def test_warmup_records_replay(signed_export) -> None:
    import tensorflow as tf

    logs = read_warmup(signed_export.model_dir / WARMUP_FILE)
    assert len(logs) == 24
    kinds = {e.WhichOneof("log_type") for e in logs}
    assert kinds == {"predict_log", "classify_log"}
    assert logs[0].predict_log.request.model_spec.name == "fraud"
    fn = tf.saved_model.load(str(signed_export.model_dir)).signatures
    sizes = set()
    for entry in logs:
        name, feed = request_inputs(entry)
        out = fn[name](**{k: tf.constant(v) for k, v in feed.items()})
        sizes.add(len(next(iter(out.values()))))
    assert sizes == {1, 2, 4, 8}


def test_signed_export_verifies_and_tampering_is_named(signed_export, tmp_path: Path) -> None:
    report = verify_export(signed_export.model_dir, signed_export.public_key)
    assert report.signature_checked
    assert signed_export.result.report["integrity"]["signed"]
    copy = tmp_path / "model"
    shutil.copytree(signed_export.model_dir, copy)
    data = next((copy / "variables").glob("variables.data-*"))
    blob = bytearray(data.read_bytes())
    blob[-1] ^= 0xFF
    data.write_bytes(bytes(blob))
    with pytest.raises(IntegrityError, match=f"changed: variables/{data.name}"):
        verify_export(copy, signed_export.public_key)


def test_view_mode_reloads_and_reverifies(signed_export) -> None:
    view = export_model(open_step("04_export", str(signed_export.run.path), "view"))
    assert view.report == signed_export.result.report
    assert view.integrity_now["ok"] is True


@pytest.fixture(scope="module")
def regression_model(export_root):
    return train("regression", export_root / "regression-model", epochs=1)


def test_unblessed_is_refused_then_exported_with_a_recorded_override(export_root,
                                                                    regression_model) -> None:
    run = make_run(export_root / "unblessed", regression_model, blessed=False)
    step = open_step("04_export", str(run.path), "compute")
    with pytest.raises(ExportRefused, match="did not bless") as info:
        export_model(step)
    assert "allow_unblessed" in info.value.hint
    result = export_model(step, ExportParams(allow_unblessed=True, override_reason="hotfix INC-42", warmup_records=8))
    assert result.passed, [c for c in result.report["checks"] if not c["passed"]]
    sigs = result.report["signatures"]
    assert sigs["regress"]["method_name"] == "tensorflow/serving/regress"
    assert set(sigs["serving_default"]["outputs"]) == {"value"}
    assert list(sigs["regress"]["outputs"]) == ["outputs"]
    meta = json.loads((result.model_dir / METADATA_FILE).read_text())
    assert meta["override"]["reason"] == "hotfix INC-42"
    assert meta["evaluation"]["blessed"] is False
    assert run.read()["steps"]["04_export"]["metrics"]["export_unblessed_override"] is True


def test_export_without_a_trained_model(export_root, binary_model) -> None:
    run = make_run(export_root / "untrained", binary_model, with_model=False, blessed=None)
    with pytest.raises(ExportRefused, match="has no trained model") as info:
        export_model(open_step("04_export", str(run.path), "compute"))
    assert "workbench run --to 02_train" in info.value.hint


def test_bad_signing_key_and_parameters_fail_before_any_work(export_root, binary_model,
                                                            tmp_path: Path) -> None:
    run = make_run(export_root / "badkey", binary_model)
    step = open_step("04_export", str(run.path), "compute")
    with pytest.raises(SigningKeyError, match="does not exist"):
        export_model(step, ExportParams(signing_key=str(tmp_path / "nope")))
    rsa_pem = tmp_path / "rsa.pem"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_pem.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=1024)
                        .private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with pytest.raises(SigningKeyError, match="key type: RSA"):
        export_model(step, ExportParams(signing_key=str(rsa_pem)))
    with pytest.raises(ParameterError, match="warmup_records=5000: TF Serving reads 1 to 1000"):
        export_model(step, ExportParams(warmup_records=5000))
    assert "saved_model" not in run.read()["steps"].get("04_export", {}).get("artifacts", {})


def test_multiclass_signatures(export_root, tmp_path: Path) -> None:
    """Classify on serialized examples equals serving_default for K classes (no full export)."""
    import tensorflow as tf

    from workbench.export.contract import ModelInfo, feature_arrays, predict_keras
    from workbench.export.signatures import (
        build_archive,
        example_spec,
        serialize_examples,
        set_method_names,
        to_examples,
    )

    t = train("multiclass", export_root / "multiclass-model", epochs=1)
    info = ModelInfo.from_dict(t.info)
    spec = example_spec(info, arrow_schema=t.train.schema)
    build_archive(t.model, info, spec).write_out(str(tmp_path / "m"), verbose=False)
    set_method_names(tmp_path / "m")
    fns = tf.saved_model.load(str(tmp_path / "m")).signatures
    rows = feature_arrays(t.eval, info)
    out = fns["serving_default"](**{k: tf.constant(v) for k, v in rows.items()})
    assert out["probabilities"].shape == (t.eval.num_rows, 3)
    want = predict_keras(t.model, rows, info)["probabilities"]
    assert np.abs(out["probabilities"].numpy() - want).max() < 1e-5
    assert set(out["classes"].numpy().tolist()) <= {b"0", b"1", b"2"}
    scores = fns["classify"](inputs=tf.constant(serialize_examples(
        to_examples(rows, spec, info))))
    assert np.abs(scores["scores"].numpy() - out["probabilities"].numpy()).max() < 1e-6
    assert scores["classes"].numpy()[0].tolist() == [b"0", b"1", b"2"]
