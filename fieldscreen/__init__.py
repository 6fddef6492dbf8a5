"""FieldScreen: offline, encrypted protection screening of migrant children.

The package is a headless core (vault, forms, sync, reports) with a Qt front end in
``fieldscreen.ui`` over it; see ``docs/`` and ``README.md`` for the architecture.
"""

from __future__ import annotations

__all__ = ["FORM_PACK_VERSION", "PROTOCOL_VERSION", "__version__"]

#: The app's version; equal to ``project.version`` in pyproject.toml (a test checks it). Kept as
#: a literal because ``importlib.metadata`` costs ~40 ms of start-up.
__version__ = "0.1.0"

#: Version of the built-in form pack shipped in ``fieldscreen/forms/builtin``.
FORM_PACK_VERSION = "2026.11.1"

#: Version of the sync protocol (the ``/api/v1`` path segment and envelope format).
PROTOCOL_VERSION = 1
