"""``python -m fieldscreen``: the same entry point as the ``fieldscreen`` command."""

from __future__ import annotations

import sys

from fieldscreen.cli import main

if __name__ == "__main__":
    sys.exit(main())
