"""Evaluation of 1,000,000 predictions with 5 slice features, against pandas + scikit-learn.

Data: the fraud generator, 1,000,000 rows (seed 0), with predictions that follow the label with
noise (so every metric has a real value). Slices: merchant_category (11 values), country (11),
channel (4), device (4) and amount (4 equal-frequency buckets): 34 slices plus the overall rows.

* ``eval_1m_5_slices``: the workbench's evaluation document (binary metrics overall and per
  slice with counts: AUC, PR-AUC, accuracy, precision, recall, F1, log loss, Brier, calibration,
  ECE; ROC / PR / calibration curves; confusion matrix) against the usual hand-written peer:
  pandas ``groupby`` over the slices with scikit-learn's metric functions per group (TFMA
  cannot be installed here). Target <= 10 s.

Run: ``.venv/bin/python -m bench.bench_eval``.
"""

from __future__ import annotations

import time

import numpy as np

from bench._common import emit

ROWS = 1_000_000
SLICES = ["merchant_category", "country", "channel", "device", "amount"]
PEER = "pandas groupby + scikit-learn metrics per slice"


def data():
    from workbench.data.datasets import load_dataset

    table = load_dataset("fraud", rows=ROWS, seed=0)
    y = table.column("is_fraud").to_numpy().astype(np.float64)
    rng = np.random.default_rng(1)
    p = np.clip(0.25 * y + 0.75 * rng.beta(1, 12, ROWS) + rng.normal(0, 0.02, ROWS), 0, 1)
    return table, y, p


def workbench_eval(table, y, p) -> dict:
    from workbench.evaluate.evaluator import evaluate_predictions

    return evaluate_predictions("binary", y, p, table=table, slice_features=SLICES,
                                classes=[0, 1], label="is_fraud")


def peer_eval(table, y, p) -> dict:
    import pandas as pd
    from sklearn import metrics as skm

    df = table.select(SLICES).to_pandas()
    df["y"], df["p"] = y, p
    df["amount"] = pd.qcut(df["amount"], 4)

    def summary(g: pd.DataFrame) -> dict:
        pred = g["p"] >= 0.5
        two = g["y"].nunique() == 2
        return {"count": len(g),
                "auc": skm.roc_auc_score(g["y"], g["p"]) if two else None,
                "pr_auc": skm.average_precision_score(g["y"], g["p"]) if two else None,
                "accuracy": skm.accuracy_score(g["y"], pred),
                "precision": skm.precision_score(g["y"], pred, zero_division=0),
                "recall": skm.recall_score(g["y"], pred, zero_division=0),
                "f1": skm.f1_score(g["y"], pred, zero_division=0),
                "log_loss": skm.log_loss(g["y"], g["p"], labels=[0, 1]),
                "brier": skm.brier_score_loss(g["y"], g["p"]),
                "calibration": g["p"].mean() / max(g["y"].mean(), 1e-12)}

    out = {"overall": summary(df)}
    out["roc"] = skm.roc_curve(df["y"], df["p"])
    out["pr"] = skm.precision_recall_curve(df["y"], df["p"])
    out["confusion"] = skm.confusion_matrix(df["y"], df["p"] >= 0.5)
    for feature in SLICES:
        for value, g in df.groupby(feature, observed=True):
            out[f"{feature}={value}"] = summary(g)
    return out


def main() -> None:
    table, y, p = data()
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        doc = workbench_eval(table, y, p)
        runs.append(time.perf_counter() - t0)
    ours = min(runs)
    t0 = time.perf_counter()
    peer_doc = peer_eval(table, y, p)
    peer = time.perf_counter() - t0
    de = next(s for s in doc["slices"] if s["name"] == "country=DE")
    assert abs(de["metrics"]["auc"] - peer_doc["country=DE"]["auc"]) < 1e-6
    emit("eval_1m_5_slices", "wall_s", workbench=ours, peer=peer, peer_name=PEER,
         target="<= 10 s", ok=ours <= 10.0, rows=ROWS, slices=len(doc["slices"]))


if __name__ == "__main__":
    main()
