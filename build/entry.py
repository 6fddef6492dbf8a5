"""Entry script of the frozen app: the same as the ``fieldscreen`` command."""

import sys

from fieldscreen.cli import main

if __name__ == "__main__":
    sys.exit(main())
