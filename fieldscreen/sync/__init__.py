"""Sync: the sealed envelope, the protocol, the client, file bundles and receipts.

``fieldscreen.sync`` is shared by the device and the central server (``fieldscreen.sync.server``).
It reaches the vault only through the :mod:`fieldscreen.sync.store` protocols, which the app
wires to the real vault; the tests wire them to a fake.
"""

from __future__ import annotations
