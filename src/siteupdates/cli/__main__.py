"""``python -m siteupdates.cli``: the command line."""

import sys

from siteupdates.cli import main

sys.exit(main())
