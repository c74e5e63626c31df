"""In-model preprocessing: Keras preprocessing layers built from the stage-01 schema and statistics."""
