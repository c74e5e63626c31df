"""model_card.yaml checks, and the MCT export's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.apps.modelcard_mct import to_mct, validate_mct
from workbench.apps.modelcard_render import card_markdown, standalone_html
from workbench.apps.modelcard_spec import EXAMPLE, load_card_spec
from workbench.errors import ConfigError
from workbench.project import Project


def test_the_example_card_file_is_valid(project: Path):
    (project / "model_card.yaml").write_text(EXAMPLE)
    spec, path = load_card_spec(Project.load(project))
    assert spec["owners"][0]["name"] == "Risk analytics team" and path is not None


@pytest.mark.parametrize(("text", "message"), [
    ("owner: [{name: x}]\n", r"unknown field\(s\) 'owner' \(did you mean 'owners'\?\)"),
    ("limitations: just one\n", r"limitations is 'just one', which is not array"),
    ("owners: [{contact: a@b}]\n", r"owners\[0\].*name"),
    ("wording: {positve: fraud}\n", r"wording: unknown field\(s\) 'positve'"),
])
def test_a_bad_field_is_named_with_a_fix(project: Path, text: str, message: str):
    (project / "model_card.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_card_spec(Project.load(project))
    assert "model_card.yaml" in err.value.hint


CARD = {
    "run_id": "r1", "spec_file": None, "wording": {"positive": "fraud", "positives": "frauds",
                                                  "row": "transaction", "rows": "transactions"},
    "details": {"name": "fraud", "overview": None, "owners": [{"name": "Risk"}],
                "license": "proprietary", "version": None, "created": "2026-01-01T00:00:00",
                "trained": None, "intended_use": "review", "intended_users": ["analysts"],
                "out_of_scope": ["auto decline"], "limitations": ["synthetic"],
                "ethical_considerations": [{"name": "wrong flags", "mitigation": "review"}],
                "references": [], "task": "binary", "label": "is_fraud", "classes": [0, 1],
                "builder": "dnn"},
    "data": {"source": "bundled", "splits": {"train": 80, "eval": 20}, "date_range": None,
             "label_balance": {}, "features": [{"name": "amount", "kind": "numeric",
                                                "meaning": None, "values": "a number"}]},
    "performance": {"rows": 20, "headline": "Catches 7 in 10 frauds.", "metric": "auc",
                    "metrics": [{"name": "auc", "value": 0.9,
                                 "ci": {"low": 0.8, "high": 0.95}}],
                    "uncertainty": {"method": "bootstrap", "resamples": 10, "level": 0.95},
                    "weakest": [], "slices": [{"name": "country=DE", "count": 5,
                                               "value": 0.7}], "slice_gap": None},
    "comparison": None, "decision": None, "tflite": None,
    "lineage": {"data": {"01/train": "ab"}, "model_sha256": "cd", "export_sha256": "ef",
                "signatures": None, "served": [], "approval": {}, "override": None,
                "blessed": True, "blessing_failed": []},
}


def test_mct_export_keeps_the_numbers_and_follows_the_schema():
    doc = to_mct(CARD)
    assert doc["schema_version"] == "0.0.2"
    types = {m["type"]: m["value"] for m in doc["quantitative_analysis"]["performance_metrics"]
             if "slice" not in m}
    assert types["auc"] == 0.9 and types["auc (95 % CI lower)"] == 0.8
    assert doc["considerations"]["ethical_considerations"][0]["mitigation_strategy"] == "review"
    with pytest.raises(Exception, match="must not contain"):
        validate_mct({**doc, "extra_field": 1})


def test_html_is_self_contained_and_markdown_has_the_sections():
    html = standalone_html(CARD)
    assert "<script" not in html and "http" not in html.split("<body>", 1)[1]
    md = card_markdown(CARD)
    for section in ("## Model details", "## Performance", "## Decision threshold",
                    "## Lineage"):
        assert section in md
