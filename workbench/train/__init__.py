"""Training: model builders, tf.data input pipelines, Keras fit with callbacks."""
