"""Bulk inference (TFX's BulkInferrer): score a file of any size with an exported model.

``workbench.predict(model_or_run, data, out)`` from Python, ``workbench predict`` on the
command line, and the optional ``07_bulk_inference`` stage after ``04_export``.
"""

from workbench.bulk.core import PredictResult, predict

__all__ = ["PredictResult", "predict"]
