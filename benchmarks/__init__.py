"""The benchmark suite: every figure against its own baseline, in one run (``python -m benchmarks``)."""
