"""Hyperparameter tuning (TFX's Tuner): the optional ``02_tune`` stage searches the model
builder's hyperparameters with KerasTuner and hands the best values to ``02_train``."""
