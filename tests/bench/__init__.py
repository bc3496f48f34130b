"""Tests of the benchmark scripts that are also tools (bench/open_models.py)."""
