"""From Parquet columns to tensors: labels, bad input named, the tf.data pipeline, builders."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest

from workbench.errors import ConfigError, DataError
from workbench.features.spec import FeaturePlan, FeatureSpec
from workbench.train.data import (
    check_encoded,
    check_finite,
    encode_labels,
    feature_arrays,
    label_classes,
    make_dataset,
)


def test_binary_classes_put_the_positive_class_last() -> None:
    t = pa.table({"y": ["no", "yes", "no"]})
    assert label_classes(t, "y", "binary") == ["no", "yes"]
    assert label_classes(t, "y", "binary", positive_class="no") == ["yes", "no"]
    assert encode_labels(t, "y", "binary", ["yes", "no"]).ravel().tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(DataError, match="positive_class 'maybe'"):
        label_classes(t, "y", "binary", positive_class="maybe")


def test_a_label_with_one_class_is_refused() -> None:
    with pytest.raises(DataError, match="only one class") as err:
        label_classes(pa.table({"y": [1, 1, 1]}), "y", "binary")
    assert err.value.context["column"] == "y"


def test_multiclass_labels_and_unseen_classes_in_eval() -> None:
    train = pa.table({"y": [3, 1, 2, 1]})
    classes = label_classes(train, "y", "multiclass")
    assert classes == [1, 2, 3]
    assert encode_labels(train, "y", "multiclass", classes).ravel().tolist() == [2, 0, 1, 0]
    with pytest.raises(DataError, match="value\\(s\\) 7 that training never saw"):
        encode_labels(pa.table({"y": [1, 7]}), "y", "multiclass", classes, split="eval")


def test_label_missing_from_a_split_or_on_rows_is_named() -> None:
    with pytest.raises(DataError, match="the eval split has no label column 'y'"):
        encode_labels(pa.table({"x": [1.0]}), "y", "regression", [], split="eval")
    with pytest.raises(DataError, match="missing on 1 row"):
        encode_labels(pa.table({"y": [1.0, None]}), "y", "regression", [])
    with pytest.raises(DataError, match="NaN or infinite"):
        encode_labels(pa.table({"y": [1.0, float("inf")]}), "y", "regression", [])


def _plan() -> FeaturePlan:
    return FeaturePlan([FeatureSpec("x", "x", "numeric", "float32"),
                        FeatureSpec("c", "c", "categorical", "string", vocabulary=["a"])], [])


def test_feature_arrays_are_columnar_with_missing_values_marked() -> None:
    t = pa.table({"x": pa.array([1, None, 3], pa.int64()), "c": ["a", None, "b"]})
    arrays = feature_arrays(t, _plan())
    assert arrays["x"].dtype == np.float32 and arrays["x"].shape == (3, 1)
    assert np.isnan(arrays["x"][1, 0])
    assert arrays["c"].ravel().tolist() == ["a", "", "b"]
    with pytest.raises(DataError, match="lacks the model's feature column\\(s\\) c"):
        feature_arrays(pa.table({"x": [1.0]}), _plan(), split="eval")


def test_infinite_values_name_the_feature_and_rows() -> None:
    arrays = feature_arrays(pa.table({"x": [1.0, np.inf, 2.0, -np.inf], "c": ["a"] * 4}),
                            _plan())
    with pytest.raises(DataError, match="feature 'x' .* 2 infinite value\\(s\\) \\(first rows: "
                                        "\\[1, 3\\]\\)"):
        check_finite(arrays, _plan())


def test_non_finite_after_preprocessing_is_caught_with_the_feature_named() -> None:
    encoded = {"x": np.array([[0.1], [np.inf]], np.float32), "c": np.array([[1], [2]])}
    with pytest.raises(DataError, match="feature 'amount' is not finite after preprocessing"):
        check_encoded(encoded, {"x": "amount"})


def test_dataset_is_batched_shuffled_with_its_seed_and_complete() -> None:
    x = {"x": np.arange(10, dtype=np.float32).reshape(-1, 1)}
    y = np.arange(10, dtype=np.float32).reshape(-1, 1)

    def epoch(ds):
        return np.concatenate([b[1].numpy().ravel() for b in ds]).tolist()

    a = make_dataset(x, y, batch_size=4, shuffle=True, seed=3)
    b = make_dataset(x, y, batch_size=4, shuffle=True, seed=3)
    first = epoch(a)
    assert sorted(first) == list(range(10)) and first != list(range(10))
    assert first == epoch(b), "same seed, same order"
    assert epoch(a) != first, "reshuffled every epoch"
    plain = make_dataset(x, None, batch_size=4, shuffle=False, seed=0)
    assert [len(batch["x"]) for batch in plain] == [4, 4, 2]


# -- builders ---------------------------------------------------------------------------------

def test_builders_registry_names_what_exists() -> None:
    from workbench.train.builders import builders, get_builder

    assert {"linear", "dnn", "wide_and_deep"} <= set(builders())
    with pytest.raises(ConfigError, match="unknown model builder 'deep'") as err:
        get_builder("deep")
    assert "dnn" in err.value.hint and "module:function" in err.value.hint


def test_a_builder_path_that_does_not_import_says_what_failed(tmp_path, monkeypatch) -> None:
    from workbench.train.builders import get_builder

    (tmp_path / "broken_models.py").write_text("import not_a_module_anywhere\n")
    (tmp_path / "good_models.py").write_text("def tower(spec):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="module 'nowhere.models' does not import "
                                          "\\(ModuleNotFoundError"):
        get_builder("nowhere.models:build")
    with pytest.raises(ConfigError, match="'broken_models' does not import .*not_a_module"):
        get_builder("broken_models:build")
    with pytest.raises(ConfigError, match="has no function 'build'") as err:
        get_builder("good_models:build")
    assert "tower" in err.value.hint
    sys.modules.pop("good_models", None)


def test_a_user_builder_is_called_with_the_spec_and_checked(tmp_path, monkeypatch) -> None:
    import keras

    from workbench.features.spec import EncodedInput
    from workbench.train.builders import BuildSpec, build_core

    (tmp_path / "my_models.py").write_text(textwrap.dedent("""
        import keras

        def two_towers(spec):
            deep = spec.hidden(spec.deep_features())
            both = keras.layers.Concatenate()([deep, spec.wide_features()])
            return spec.model(spec.head(both))

        def wrong_shape(spec):
            return spec.model(keras.layers.Dense(3)(spec.deep_features()))
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    encoded = [EncodedInput("x", "x", "dense", "float32"),
               EncodedInput("c", "c", "index", "int64", 4)]

    def spec() -> BuildSpec:
        inputs = {e.name: keras.Input(shape=(1,), name=e.name, dtype=e.dtype) for e in encoded}
        return BuildSpec(inputs, encoded, "binary", 1, hidden_units=[4])

    model = build_core("my_models:two_towers", spec())
    assert model.output.shape[1:] == (1,)
    with pytest.raises(ConfigError, match="needs one output of shape \\(batch, 1\\)"):
        build_core("my_models:wrong_shape", spec())
    sys.modules.pop("my_models", None)


def test_the_training_callbacks_do_no_work_per_batch(tmp_path) -> None:
    """Keras' TensorBoard writes (no-op) batch summaries on every step even when it logs per
    epoch, about 0.7 ms a step; the workbench's callbacks only act per epoch."""
    import keras
    from keras.src.utils.python_utils import is_default

    from workbench.train.callbacks import (
        EpochBackupAndRestore,
        EpochListener,
        EpochTensorBoard,
        NonFiniteLoss,
    )

    hooks = ("on_batch_end", "on_train_batch_begin", "on_train_batch_end",
             "on_test_batch_end")
    for cb in (EpochBackupAndRestore(str(tmp_path / "b")), EpochTensorBoard(str(tmp_path)),
               NonFiniteLoss(), EpochListener(lambda e, logs: None)):
        assert all(is_default(getattr(cb, h)) for h in hooks), type(cb).__name__
    assert not is_default(keras.callbacks.TensorBoard(str(tmp_path)).on_train_batch_end)
