"""``python -m benchmarks``: run the suite, print the table, write it as JSON."""

from __future__ import annotations

import sys

from benchmarks.suite import main

sys.exit(main())
