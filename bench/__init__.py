"""Benchmarks of the persisted engine; `python -m bench [--quick]`. Results go to stdout only."""
