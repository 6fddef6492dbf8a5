"""The keys held while the vault is unlocked, and the associated-data format.

From the 256-bit master key, HKDF-SHA256 derives one key per purpose (since key-file format 2
the HKDF label names the vault's admin public key too, so a key file that names another admin
key derives other keys and opens nothing in this database): wrapping record keys, the secrets
table, the audit log (encryption and MAC), the state digest and its row map (encryption, and
the keyed hash that picks an entry's bucket), the roster MAC and the case list's index
(encryption, and the keyed hash that picks a record's bucket).
Every record and case card has its own random data key, wrapped (AES-256-GCM) by the
record-key wrapping key, so purging a record destroys its key along with its ciphertext.

What Python cannot guarantee: keys are kept in ``bytearray`` objects that :meth:`Keys.wipe`
overwrites with zeros, but every call into the crypto library passes an immutable ``bytes``
copy, and decrypted answers live in ``str`` and ``dict`` objects; those copies stay in the heap
until the garbage collector reuses their memory, and may reach swap. Locking drops every
reference we hold; it cannot scrub the copies. ``docs/vault.md`` says so too.

While unlocked, :class:`Keys` also holds what a save would otherwise redo every time: one
AES-256-GCM object per subkey (:meth:`Keys.aead`), and the decrypted value of a few small
state slots (the row map's root, the audit log's head) beside the exact ciphertext it came
from or went into (:meth:`Keys.held` / :meth:`Keys.hold`). A held value is used only when the
stored ciphertext is byte for byte the one it was taken from, so it says nothing that
decrypting that ciphertext would not; any other ciphertext (another process wrote, the file
was edited, a transaction rolled back) is decrypted and authenticated as before. All of it is
dropped by :meth:`Keys.wipe` (at lock). So are the values :meth:`Keys.memo` keeps: results of
a keyed function of these keys alone (which bucket an entry belongs to, a bucket's share of its
group's sum), each the same every time it is computed again; a rotation makes new
:class:`Keys`, so nothing derived from the old keys is used with the new.
"""

from __future__ import annotations

from typing import Any

from fieldscreen import crypto

__all__ = ["Keys", "aad"]

_LABELS = (
    "record-keys",
    "secrets",
    "audit-encryption",
    "audit-mac",
    "state-digest",
    "roster",
    "list-index",
    "list-index-bucket",
    "row-map",
    "row-map-bucket",
    "key-entries",
    "outbox-state",
)


def aad(*parts: str | int) -> bytes:
    """Associated data naming where a ciphertext belongs: table, id, purpose, version ..."""
    text = "\x1f".join(str(p) for p in parts)
    if "\x00" in text:
        raise ValueError("associated data part contains NUL")
    return b"fieldscreen/vault/v1\x00" + text.encode("utf-8")


class Keys:
    """The master key and its per-purpose subkeys, for as long as the vault is unlocked."""

    def __init__(self, master: bytes, admin_public: bytes | None = None) -> None:
        self._master = bytearray(master)
        #: The admin public key the subkeys are bound to (None: a vault of key-file format 1).
        self.admin_public = admin_public
        prefix = (
            "fieldscreen/vault/v1/"
            if admin_public is None
            else f"fieldscreen/vault/v2/{bytes(admin_public).hex()}/"
        )
        self._sub = {
            label: bytearray(crypto.derive_subkey(master, prefix + label)) for label in _LABELS
        }
        self._aead: dict[str, crypto.AeadKey] = {}
        self._held: dict[str, tuple[bytes, Any]] = {}
        self._memos: dict[str, dict[Any, Any]] = {}

    @property
    def master(self) -> bytes:
        return bytes(self._master)

    def sub(self, label: str) -> bytes:
        return bytes(self._sub[label])

    def aead(self, label: str) -> crypto.AeadKey:
        """The AES-256-GCM object of subkey ``label``, set up once while unlocked."""
        held = self._aead.get(label)
        if held is None:
            held = self._aead[label] = crypto.AeadKey(self.sub(label))
        return held

    def held(self, slot: str, blob: bytes) -> Any:
        """The value held for ``slot`` when ``blob`` is exactly the ciphertext it was taken
        from (None otherwise)."""
        entry = self._held.get(slot)
        if entry is None or entry[0] != blob:
            return None
        return entry[1]

    def hold(self, slot: str, blob: bytes, value: Any) -> None:
        """Hold ``value`` as what ciphertext ``blob`` of ``slot`` decrypts to."""
        self._held[slot] = (bytes(blob), value)

    def memo(self, name: str) -> dict[Any, Any]:
        """The dictionary ``name`` of values computed from these keys alone (a pure function of
        the keys and its key), kept while unlocked; its user bounds its size."""
        found = self._memos.get(name)
        if found is None:
            found = self._memos[name] = {}
        return found

    def wipe(self) -> None:
        for buffer in (self._master, *self._sub.values()):
            buffer[:] = b"\0" * len(buffer)
        self._sub.clear()
        self._aead.clear()
        self._held.clear()
        self._memos.clear()
