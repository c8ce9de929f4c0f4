"""Triage classifier: an offline multilingual encoder, calibrated heads, training, evaluation and the model store."""
