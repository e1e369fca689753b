"""The benchmark suite: every figure against its baseline, in one run (python -m benchmarks)."""
