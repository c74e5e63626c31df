"""Serving: model repository, TF Serving configuration, local TF-Serving-compatible server, clients."""
