"""Reproducible experiments built on the public API (run as ``python -m torus_hw.experiments.<name>``)."""
