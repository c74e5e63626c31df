"""The helpers every stage shares: how numbers are written, how top values and slices are
ranked, how ``module:function`` references are imported, and how feature columns become
arrays."""

from __future__ import annotations

import math
import sys

import numpy as np
import pyarrow as pa
import pytest

from workbench._format import number
from workbench._ranking import most_frequent
from workbench.errors import ConfigError, DataError
from workbench.registry import load_object

# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, digits, shown", [
    (0.65, 4, "0.65"),
    (0.812345, 4, "0.8123"),
    (123456.7, 4, "1.235e+05"),
    (-20.6, 6, "-20.6"),
    (1e-05, 4, "1e-05"),
    (1234567, 6, "1234567"),  # integers in full, never 1.23457e+06
    (np.int64(42), 4, "42"),
    (np.float32(0.5), 4, "0.5"),
    (float("nan"), 4, "nan"),
    (True, 4, "True"),
    ("abc", 4, "abc"),
])
def test_number_writes_significant_digits_and_whole_integers(value, digits, shown) -> None:
    assert number(value, digits) == shown


def test_number_says_what_is_missing() -> None:
    assert number(None) == "n/a"
    assert number(None, missing="") == ""


def test_table_cells_mirror_the_live_views() -> None:
    from workbench.widgets._base import fmt

    assert fmt(None) == "–" and fmt(True) == "yes" and fmt(1234) == "1,234"
    assert fmt(0.5) == "0.5" and fmt(0.123456) == "0.1235" and fmt(2.0) == "2"
    assert fmt(123456.7) == "1.23e+05" and fmt(0.00001234) == "1.23e-05"
    # the statistics view (static/statistics.js): grouped, 3 decimals, exponent from 1e6
    assert fmt(52345.6789, 3, grouped=True, exponent_from=1e6) == "52,345.679"
    assert fmt(1234567.0, 3, grouped=True, exponent_from=1e6) == "1.23e+06"


# -- ranking ----------------------------------------------------------------------------------


def test_ties_are_broken_by_value_not_by_arrival_order() -> None:
    first = most_frequent({"b": 2, "c": 5, "a": 2, "d": 1})
    second = most_frequent({"a": 2, "d": 1, "b": 2, "c": 5})
    assert first == second == [("c", 5), ("a", 2), ("b", 2), ("d", 1)]
    assert most_frequent([(10, 3), (9, 3), (2, 1)], 2) == [(9, 3), (10, 3)]  # numbers by value
    assert most_frequent({b"b": 1, b"a": 1}, key=bytes.decode) == [(b"a", 1), (b"b", 1)]


def test_top_slices_keep_the_largest_with_ties_by_value() -> None:
    from workbench.data.stats import accumulate_statistics, top_slices

    table = pa.table({"x": [1.0] * 7, "country": ["FR", "DE", "DE", "AT", "FR", "US", "AT"]})
    _, slices = accumulate_statistics(table, slice_by="country")
    assert [v for v, _ in top_slices(slices, 2)] == ["AT", "DE"]
    assert [v for v, _ in top_slices(dict(reversed(slices.items())), 3)] == ["AT", "DE", "FR"]


def test_eval_slices_of_equal_size_come_in_value_order() -> None:
    from workbench.evaluate.slicing import slices_of

    table = pa.table({"device": ["web", "ios", "web", "android", "ios", None]})
    assert [(s.value, s.count) for s in slices_of(table, "device")] == \
        [("ios", 2), ("web", 2), ("android", 1), ("(missing)", 1)]
    ios = next(s for s in slices_of(table, "device") if s.value == "ios")
    assert ios.index.tolist() == [1, 4]


# -- module:function references ---------------------------------------------------------------


def test_load_object_imports_module_function(tmp_path, monkeypatch) -> None:
    (tmp_path / "wb_refs_ok.py").write_text("def build(spec):\n    return spec\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert load_object("wb_refs_ok:build", what="model builder")(3) == 3
        assert load_object("math:sqrt", what="hook") is math.sqrt
    finally:
        sys.modules.pop("wb_refs_ok", None)


@pytest.mark.parametrize("ref, match, hint", [
    ("no_colon", "is not a 'module:function' reference", "package.module:function"),
    (":build", "is not a 'module:function' reference", "package.module:function"),
    ("no.such.module:f", "cannot be imported: module 'no.such.module' does not import "
                         r"\(ModuleNotFoundError", "Python path"),
    ("wb_refs_broken:f", "module 'wb_refs_broken' does not import .*ZeroDivisionError",
     "Python path"),
    ("math:no_such_function", "module 'math' has no function 'no_such_function'", "sqrt"),
    ("math:pi", "has no function 'pi'", "sqrt"),  # not callable
])
def test_load_object_says_what_failed_and_how_to_fix_it(tmp_path, monkeypatch, ref, match,
                                                        hint) -> None:
    (tmp_path / "wb_refs_broken.py").write_text("1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=f"^fingerprint hook '{ref}' .*{match}") as err:
        load_object(ref, what="fingerprint hook", stage="02_train")
    assert hint in err.value.hint
    assert err.value.context == {"stage": "02_train"}
    sys.modules.pop("wb_refs_broken", None)


# -- feature columns --------------------------------------------------------------------------


def test_training_and_export_convert_features_the_same_way() -> None:
    from workbench.export.contract import ModelInfo
    from workbench.export.contract import feature_arrays as export_arrays
    from workbench.features.spec import FeaturePlan, FeatureSpec
    from workbench.train.data import feature_arrays as train_arrays

    table = pa.table({"n": pa.array([16777217, None, 3], pa.int64()),
                      "c": ["Côte d'Ivoire", None, "DE"]})
    plan = FeaturePlan([FeatureSpec("n", "n", "numeric", "float32"),
                        FeatureSpec("c", "c", "categorical", "string")], [])
    info = ModelInfo.from_dict({"task": "regression", "label": "y", "features": [
        {"name": "n", "dtype": "float32"}, {"name": "c", "dtype": "string"}]})
    trained, exported = train_arrays(table, plan), export_arrays(table, info)
    assert trained["n"].shape == (3, 1) and exported["n"].shape == (3,)
    np.testing.assert_array_equal(trained["n"].ravel(), exported["n"])
    assert exported["n"][0] == np.float32(16777217) and math.isnan(exported["n"][1])
    assert trained["c"].ravel().tolist() == ["Côte d'Ivoire", "", "DE"]
    assert exported["c"].tolist() == ["Côte d'Ivoire".encode(), b"", b"DE"]


def test_a_text_column_where_a_number_belongs_is_named() -> None:
    from workbench.features.arrays import raw_feature_arrays

    with pytest.raises(DataError, match="column 'age' of the eval split is string, not "
                                        "numeric") as err:
        raw_feature_arrays(pa.table({"age": ["x"]}), [("age", "age", False)],
                           where="the eval split", hint="-", split="eval")
    assert err.value.context == {"column": "age", "split": "eval"}
