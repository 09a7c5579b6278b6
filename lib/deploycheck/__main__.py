"""``python -m deploycheck``: the deploycheck command line (see :mod:`deploycheck.cli`)."""

from __future__ import annotations

import sys

from deploycheck.cli import main

if __name__ == "__main__":
    sys.exit(main())
