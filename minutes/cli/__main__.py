"""``python -m minutes.cli``: the same as the ``minutes`` command."""

import sys

from minutes.cli import main

sys.exit(main())
