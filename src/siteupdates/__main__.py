"""``python -m siteupdates``: the command line (the same as the ``siteupdates`` script)."""

import sys

from siteupdates.cli import main

sys.exit(main())
