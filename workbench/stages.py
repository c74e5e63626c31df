"""Names of the default pipeline's stages, as the library refers to them when a stage reads
another's artifacts (the contract is docs/stages.md)."""

__all__ = ["DATA_VALIDATION", "EVALUATE", "EXPORT", "SERVING", "TFLITE", "TRAIN"]

DATA_VALIDATION = "01_data_validation"
TRAIN = "02_train"
EVALUATE = "03_evaluate"
EXPORT = "04_export"
TFLITE = "05_tflite"
SERVING = "06_serving"
