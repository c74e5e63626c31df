"""Evaluation: metrics overall and per slice, thresholds, blessing against a baseline."""
