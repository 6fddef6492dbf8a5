"""Every error code the vault and crypto packages raise is in the catalogue, in both languages,
and no message template can carry answers (their placeholders are from a short, fixed list)."""

from __future__ import annotations

import re
from pathlib import Path

from fieldscreen.errors import CATALOGUE

PACKAGES = [Path(__file__).resolve().parents[3] / "fieldscreen" / p for p in ("vault", "crypto")]
RAISED = re.compile(
    r"(?:VaultError|CryptoError|KnownError|UnlockFailed|DecryptError)\(\s*\"([a-z0-9-]+)\""
)
# "option" is a command-line flag the code names (--passphrase-file), never typed input;
# "rows" and "audit" are counts of what a check found wrong; "names" the secrets-table slots
# this build writes (base.SECRET_SLOTS: a slot someone added is counted, never named);
# "seq" an audit entry's number and "shown" how many entries check before it; "resealed" and
# "requeued" counts of outbox rows repaired, "missing" of rows gone that cannot be; "logins"
# the local accounts' logins (letters, digits and . _ @ - only), never typed answers.
SAFE_PLACEHOLDERS = {
    "detail", "role", "state", "minimum", "path", "option", "rows", "audit", "names", "seq",
    "shown", "resealed", "requeued", "missing", "restored", "logins", "expected", "found",
}  # fmt: skip


def _codes() -> set[str]:
    codes: set[str] = set()
    for package in PACKAGES:
        for path in package.rglob("*.py"):
            codes.update(RAISED.findall(path.read_text(encoding="utf-8")))
    return codes


def test_every_raised_code_is_catalogued_in_english_and_spanish() -> None:
    codes = _codes()
    assert len(codes) >= 20, "the scan found too few codes to be looking at the packages"
    missing = sorted(c for c in codes if c not in CATALOGUE)
    assert missing == []
    for code in codes:
        message = CATALOGUE[code]
        assert message.en.strip()
        assert message.es.strip()
        assert message.en != message.es
        placeholders = set(re.findall(r"{(\w+)", message.en + message.es))
        assert placeholders <= SAFE_PLACEHOLDERS, (code, placeholders)
