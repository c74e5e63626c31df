"""Column roles: identifiers, constants, dates, free text, features; overrides."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.data.fixtures.byod.generate import write_corpus
from workbench.data.reading import read_table
from workbench.data.roles import infer_roles
from workbench.errors import ParameterError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("byod"))


def test_the_bank_export_roles(corpus):
    roles = infer_roles(read_table(corpus["bank"]), label="is_fraud")
    got = {n: r.role for n, r in roles.roles.items()}
    assert got == {"transaction_id": "id", "booking_date": "datetime", "amount_eur": "numeric",
                   "merchant": "categorical", "category": "categorical",
                   "customer_age": "numeric", "card_present": "categorical",
                   "is_fraud": "label"}
    assert "named like an identifier" in roles["transaction_id"].reason
    assert roles["is_fraud"].guessed is False
    assert roles.ids == ["transaction_id"]
    assert "booking_date" in roles.features and "transaction_id" not in roles.features
    assert set(roles.dropped) == {"transaction_id"}


def test_free_text_and_its_id(corpus):
    roles = infer_roles(read_table(corpus["free_text"]), label="sentiment")
    assert roles["review_text"].role == "text"
    assert "free text" in roles["review_text"].reason
    assert roles["review_id"].role == "id"
    assert roles["stars"].role == "numeric" and roles["product"].role == "categorical"


def test_constant_empty_unique_and_code_columns():
    n = 100
    table = pa.table({
        "currency": ["EUR"] * n,
        "empty": pa.array([None] * n, pa.string()),
        "ref": list(range(1000, 1000 + n)),
        "code": [f"TX{i:05d}" for i in range(n)],
        "amount": [float(i % 7) for i in range(n)],
        "when": pa.array(list(range(n)), pa.timestamp("s")),
        "y": [i % 2 for i in range(n)],
    })
    roles = infer_roles(table, label="y")
    assert roles["currency"].role == "ignore" and "constant" in roles["currency"].reason
    assert roles["empty"].role == "ignore" and "no value" in roles["empty"].reason
    assert roles["ref"].role == "id" and "different" in roles["ref"].reason
    assert roles["code"].role == "id"
    assert roles["amount"].role == "numeric"
    assert roles["when"].role == "datetime"  # unique per row, still not an identifier


def test_overrides_by_original_or_safe_name(corpus):
    result = read_table(corpus["bank"])
    roles = infer_roles(result, label="is_fraud",
                        feature_roles={"Transaction ID": "numeric", "merchant": "ignore"})
    assert roles["transaction_id"] == roles["transaction_id"].__class__(
        "numeric", "the feature_roles parameter", guessed=False)
    assert roles["merchant"].role == "ignore"
    with pytest.raises(ParameterError, match="label names 'fraud', which is not a column"):
        infer_roles(result, label="fraud")
    with pytest.raises(ParameterError, match="unknown role"):
        infer_roles(result, feature_roles={"merchant": "drop"})


def test_roles_forced_on_reading_carry_over(corpus):
    result = read_table(corpus["bank"], feature_roles={"Customer age": "categorical"})
    assert result.table.schema.field("customer_age").type == pa.string()
    roles = infer_roles(result, label="is_fraud")
    assert roles["customer_age"].role == "categorical" and not roles["customer_age"].guessed
    assert roles.to_dict()["customer_age"] == {"role": "categorical",
                                               "reason": "the feature_roles parameter",
                                               "guessed": False}
