"""Recorded runs of the seed code, the deploy scripts and model_sync, checked against the policies."""
