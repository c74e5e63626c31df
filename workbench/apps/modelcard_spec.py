"""``model_card.yaml``: what only the engineer can say about the model (owners, licence,
intended and out-of-scope uses, limitations, ethical considerations, the reader's nouns and
the features in plain words). Everything else on the card comes from the run.

The file sits in the project folder. Its fields are checked against :data:`CARD_SCHEMA`; an
unknown or mistyped field is refused with the field's path, what it takes, and the nearest
known name.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import fastjsonschema

from workbench.errors import ConfigError
from workbench.project import Project, load_yaml_mapping

__all__ = ["CARD_FILE", "CARD_SCHEMA", "EXAMPLE", "load_card_spec", "validate_card_spec"]

CARD_FILE = "model_card.yaml"

_TEXT = {"type": "string"}
_TEXTS = {"type": "array", "items": {"type": "string"}}
CARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {**_TEXT, "description": "the model's name for people"},
        "overview": {**_TEXT, "description": "one or two sentences: what the model does"},
        "owners": {"type": "array", "description": "who owns the model", "items": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": _TEXT, "contact": _TEXT}}},
        "license": {**_TEXT, "description": 'an SPDX identifier, or "proprietary"'},
        "intended_use": {**_TEXT, "description": "what the model is for"},
        "intended_users": {**_TEXTS, "description": "who should use its answers"},
        "out_of_scope": {**_TEXTS, "description": "uses the model is not made for"},
        "limitations": {**_TEXTS, "description": "known weaknesses"},
        "ethical_considerations": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": _TEXT, "mitigation": _TEXT}}},
        "references": _TEXTS,
        "wording": {"type": "object", "additionalProperties": False,
                    "description": "the reader's nouns",
                    "properties": {"positive": _TEXT, "positives": _TEXT, "row": _TEXT,
                                   "rows": _TEXT}},
        "features": {"type": "object", "additionalProperties": {"type": "string"},
                     "description": "feature name → what it means, in plain words"},
    },
}

EXAMPLE = """\
# model_card.yaml: what the model card cannot learn from the runs
name: Card fraud screening
overview: Scores card transactions for the chance that they are fraudulent.
owners:
  - {name: Risk analytics team, contact: risk-analytics@example.com}
license: proprietary
intended_use: Flag transactions for a human fraud analyst to review.
intended_users: [fraud analysts]
out_of_scope:
  - Declining transactions automatically without a human review.
limitations:
  - Trained on generated data; check it on real transactions first.
ethical_considerations:
  - {name: Customers flagged wrongly, mitigation: An analyst reviews every alert.}
wording: {positive: fraud, positives: frauds, row: transaction, rows: transactions}
features:
  amount: amount of the transaction, in euros
"""

_check = fastjsonschema.compile(CARD_SCHEMA)


def _problem(err: fastjsonschema.JsonSchemaValueException, path: Path) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) or str(p).isdigit() else f".{p}"
                    for p in err.path[1:])
    where = where.lstrip(".") or "(top level)"
    if err.rule == "additionalProperties" and isinstance(err.value, dict):
        known = list((err.definition or {}).get("properties", {}))
        extra = sorted(set(err.value) - set(known))
        guesses = [g for e in extra for g in difflib.get_close_matches(e, known, n=1)]
        maybe = f" (did you mean {', '.join(map(repr, guesses))}?)" if guesses else ""
        return (f"{path}: {where}: unknown field(s) {', '.join(map(repr, extra))}{maybe}; "
                f"known fields: {', '.join(known)}")
    if err.rule == "type":
        return (f"{path}: {where} is {err.value!r}, which is not {err.rule_definition} "
                f"({'a list' if err.rule_definition == 'array' else 'the type it takes'})")
    if err.rule == "required":
        return (f"{path}: {where} lacks the required field(s) "
                f"{', '.join(map(repr, err.rule_definition))}")
    return f"{path}: {where}: {err.value!r} {err.message.removeprefix(err.name).strip()}"


def validate_card_spec(data: dict[str, Any], path: Path) -> dict[str, Any]:
    try:
        _check(data)
    except fastjsonschema.JsonSchemaValueException as err:
        raise ConfigError(_problem(err, path),
                          hint=f"fix the field in {path.name}; docs/apps.md lists every field "
                               "with an example", file=str(path)) from err
    return data


def load_card_spec(project: Project | None = None) -> tuple[dict[str, Any], Path | None]:
    """The project's ``model_card.yaml`` (checked), or ``{}`` and None when there is none."""
    project = project or Project.find()
    path = project.root / CARD_FILE
    if not path.is_file():
        return {}, None
    return validate_card_spec(load_yaml_mapping(path, "model card"), path), path
