"""``python -m fieldscreen.sync.server.cli``: the same as ``fieldscreen-server``."""

import sys

from fieldscreen.sync.server.cli import main

sys.exit(main())
