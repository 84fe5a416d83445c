"""``python -m ragtel``: the ``ragtel`` command line."""

import sys

from ragtel.cli import main

sys.exit(main())
