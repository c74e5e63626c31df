"""Export: SavedModel for TF Serving (signatures, metadata, warmup, integrity) and TFLite variants."""
