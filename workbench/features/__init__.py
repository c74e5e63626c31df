"""In-model preprocessing: Keras preprocessing layers built from the stage-01 schema and statistics.

:func:`plan_features` decides which columns are features and how each is encoded, from the
statistics and schema only; :func:`build_preprocessor` (in :mod:`workbench.features.preprocess`,
which imports Keras) turns the plan into layers that become part of the trained model.
"""

from workbench.features.spec import (
    EncodedInput,
    FeaturePlan,
    FeatureSpec,
    input_name,
    plan_features,
)
from workbench.features.stats import ColumnStats, column_stats, quantile_boundaries, schema_domains

__all__ = [
    "ColumnStats",
    "EncodedInput",
    "FeaturePlan",
    "FeatureSpec",
    "column_stats",
    "input_name",
    "plan_features",
    "quantile_boundaries",
    "schema_domains",
]
