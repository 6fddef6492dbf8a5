"""The encrypted local store: accounts and unlock, drafts, finalised records, case cards, the
outbox, the audit log, migrations, purge, travel mode and wipe. Qt-free.

See :mod:`fieldscreen.vault.vault` for the public API and ``docs/vault.md`` for the file format,
the key hierarchy and what is stored in plaintext.
"""

from __future__ import annotations

from fieldscreen.vault.audit import AuditEntry
from fieldscreen.vault.base import UserInfo, canonical_json
from fieldscreen.vault.caselist import ListRow
from fieldscreen.vault.errors import UnlockFailed, VaultError
from fieldscreen.vault.keyring import ROLES, Role
from fieldscreen.vault.outbox import OUTBOX_STATES, OutboxItem
from fieldscreen.vault.records import IntegrityReport, RecordSummary
from fieldscreen.vault.vault import Vault, vault_status, wipe_folder

__all__ = [
    "OUTBOX_STATES",
    "ROLES",
    "AuditEntry",
    "IntegrityReport",
    "ListRow",
    "OutboxItem",
    "RecordSummary",
    "Role",
    "UnlockFailed",
    "UserInfo",
    "Vault",
    "VaultError",
    "canonical_json",
    "vault_status",
    "wipe_folder",
]
