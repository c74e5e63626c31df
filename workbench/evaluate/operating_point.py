"""The decision threshold of a binary model: an operating point chosen by a rule.

A probability becomes a decision ("flag this transaction") at a threshold. 0.5 is rarely the
right one: on the fraud data (3 % positives) it flags almost nothing. Stage 03 chooses the
threshold by the rule the user sets (``decision_rule``):

* ``cost`` (default): the threshold with the lowest expected cost, counting one missed
  positive as ``cost_fn_fp`` false alarms;
* ``recall``: the highest threshold that still catches ``target_recall`` of the positives
  (the fewest false alarms for that recall);
* ``precision``: the lowest threshold whose alerts are right at least ``target_precision`` of
  the time (the most positives caught at that precision);
* ``alert_rate``: the lowest threshold that flags at most ``max_alert_rate`` of all rows;
* ``fixed``: ``decision_threshold`` as given.

Which rows: stage 03 has one labelled split, ``01_data_validation/eval``. The threshold is
chosen on a seeded half of it (the *selection rows*) and checked on the other half (the
*check rows*), so the reported recall and false-alarm rate at the chosen point are also
measured on rows the choice did not see. The evaluation's metrics use the chosen threshold on
every eval row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RULES", "choose_threshold", "operating_point", "selection_mask", "tradeoff"]

RULES = ("cost", "recall", "precision", "alert_rate", "fixed")


def selection_mask(n: int, seed: int = 0) -> np.ndarray:
    """A seeded half of ``n`` rows (True: used to choose the threshold)."""
    order = np.random.default_rng(seed).permutation(n)
    mask = np.zeros(n, dtype=bool)
    mask[order[: (n + 1) // 2]] = True
    return mask


def _counts(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each distinct score (descending) as threshold: thresholds, TP, FP (``p >= t``)."""
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(1 - ys)
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]
    return ps[last], tp[last], fp[last]


def operating_point(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Counts and rates at ``threshold``, with the sentences a reader understands."""
    y = np.asarray(y, dtype=np.int64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    pred = p >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    n = len(y)
    pos = tp + fn
    out: dict[str, Any] = {
        "threshold": float(threshold), "rows": n, "positives": pos,
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "recall": tp / pos if pos else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "alert_rate": (tp + fp) / n if n else None,
        "false_alarm_rate": fp / (fp + tn) if fp + tn else None,
    }
    out["false_alarm_every"] = (n / fp) if fp else None  # one false alarm per this many rows
    return out


def _pick(rule: str, t: np.ndarray, tp: np.ndarray, fp: np.ndarray, n: int, pos: int, *,
          cost_fn_fp: float, target_recall: float, target_precision: float,
          max_alert_rate: float) -> tuple[int | None, str]:
    """Index into the candidate thresholds, and a note when the target cannot be met."""
    recall = tp / max(pos, 1)
    precision = tp / np.maximum(tp + fp, 1)
    alerts = (tp + fp) / max(n, 1)
    if rule == "cost":
        cost = cost_fn_fp * (pos - tp) + fp
        return int(np.argmin(cost)), ""
    if rule == "recall":
        ok = np.flatnonzero(recall >= target_recall)
        if ok.size:
            return int(ok[0]), ""  # highest threshold reaching the recall
        return len(t) - 1, f"no threshold reaches recall {target_recall:g}; the lowest is used"
    if rule == "precision":
        ok = np.flatnonzero(precision >= target_precision)
        if ok.size:
            return int(ok[-1]), ""  # lowest threshold keeping the precision
        return int(np.argmax(precision)), (f"no threshold reaches precision "
                                           f"{target_precision:g}; the most precise is used")
    ok = np.flatnonzero(alerts <= max_alert_rate)  # alert_rate
    if ok.size:
        return int(ok[-1]), ""
    return 0, f"even the highest threshold flags more than {max_alert_rate:g} of the rows"


def choose_threshold(y: np.ndarray, p: np.ndarray, rule: str = "cost", *,
                     cost_fn_fp: float = 10.0, target_recall: float = 0.8,
                     target_precision: float = 0.5, max_alert_rate: float = 0.05,
                     fixed: float = 0.5, seed: int = 0) -> dict[str, Any]:
    """The operating point by ``rule``, chosen on a seeded half of the rows and checked on the
    other half (see the module docstring). JSON-ready."""
    if rule not in RULES:
        raise ValueError(f"unknown decision rule {rule!r}; rules: {', '.join(RULES)}")
    y = np.asarray(y, dtype=np.int64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    mask = selection_mask(len(y), seed)
    ys, ps = y[mask], p[mask]
    note = ""
    pos = int(ys.sum())
    if rule == "fixed":
        threshold = float(fixed)
    elif pos == 0 or pos == len(ys):
        threshold, note = float(fixed), ("the selection rows hold one class only; "
                                         f"the fixed threshold {fixed:g} is used")
    else:
        t, tp, fp = _counts(ys, ps)
        i, note = _pick(rule, t, tp, fp, len(ys), pos, cost_fn_fp=cost_fn_fp,
                        target_recall=target_recall, target_precision=target_precision,
                        max_alert_rate=max_alert_rate)
        # halfway to the next lower score: the same decisions on these rows, and no row sits
        # on the boundary, where float32 noise between the Keras model and its export (1e-7)
        # would flip it
        threshold = float((t[i] + t[i + 1]) / 2 if i + 1 < len(t) else t[i] / 2)
    target = {"cost": {"cost_fn_fp": cost_fn_fp}, "recall": {"target_recall": target_recall},
              "precision": {"target_precision": target_precision},
              "alert_rate": {"max_alert_rate": max_alert_rate},
              "fixed": {"decision_threshold": fixed}}[rule]
    return {
        "rule": rule,
        "target": target,
        "threshold": threshold,
        "note": note,
        "rows": {"selection": int(mask.sum()), "check": int((~mask).sum()),
                 "how": f"the threshold is chosen on a seeded half of the eval split "
                        f"({int(mask.sum()):,} rows, seed {seed}) and checked on the other "
                        f"half ({int((~mask).sum()):,} rows)"},
        "selection": operating_point(ys, ps, threshold),
        "check": operating_point(y[~mask], p[~mask], threshold),
        "all": operating_point(y, p, threshold),
        "tradeoff": tradeoff(y, p, threshold),
        "describe": describe_rule(rule, target),
    }


def describe_rule(rule: str, target: dict[str, Any]) -> str:
    """The rule as a sentence."""
    if rule == "cost":
        return (f"lowest expected cost, counting one missed positive as costly as "
                f"{target['cost_fn_fp']:g} false alarms")
    if rule == "recall":
        return f"catch at least {target['target_recall']:.0%} of the positives"
    if rule == "precision":
        return f"at least {target['target_precision']:.0%} of alerts are real positives"
    if rule == "alert_rate":
        return f"flag at most {target['max_alert_rate']:.1%} of all rows"
    return f"a fixed threshold of {target['decision_threshold']:g}"


def tradeoff(y: np.ndarray, p: np.ndarray, chosen: float) -> list[dict[str, Any]]:
    """The operating points at a few thresholds around the chosen one (what a higher or lower
    threshold would trade)."""
    y = np.asarray(y, dtype=np.int64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    candidates = sorted({round(float(v), 4) for v in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7,
                                                       chosen / 2, chosen, min(chosen * 2, 0.99))
                         if 0 < v < 1})
    rows = []
    for t in candidates:
        point = operating_point(y, p, t)
        rows.append({k: point[k] for k in ("threshold", "recall", "precision", "alert_rate",
                                           "tp", "fp", "fn")}
                    | {"chosen": abs(t - round(chosen, 4)) < 1e-9})
    return rows
