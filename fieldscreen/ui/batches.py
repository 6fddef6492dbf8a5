"""The coordinator's batch view over the vault (Qt-free): who and which laptop has what waiting,
what failed and why, the history of every sync, and the USB bundle actions.

Nothing here keeps a table of its own: the states come from the vault's outbox, who finalised
each screening from the audit log's ``finalise`` entries, and the history from its ``sync``
entries, which every sync writes (network, bundle export, receipt, relay, forward) with counts
only: how, how many sent, acknowledged and failed, whether a receipt was applied, and for a
relay the other laptop's short id.

Bundle actions reuse the command line's code: :func:`fieldscreen.sync.bundle.export_bundle`,
:func:`fieldscreen.sync.bundle.apply_receipt_file` and :func:`fieldscreen.sync.relay.relay_bundle`.
Importing a bundle twice, or applying a receipt twice, changes nothing; the result says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldscreen.sync.envelope import COUNTED_KINDS
from fieldscreen.ui.errors import UIError

if TYPE_CHECKING:
    from fieldscreen.ui.ports import StaffServer
    from fieldscreen.vault import Vault

__all__ = [
    "STATES",
    "BatchModel",
    "BatchOutcome",
    "Failure",
    "GroupRow",
    "HistoryRow",
    "ServerLaptop",
    "record_network_sync",
]

STATES = ("pending", "sending", "delivered", "failed", "quarantined")
THIS_LAPTOP = "this"
_PAGE = 500


@dataclass(frozen=True, slots=True)
class GroupRow:
    """Counts of one user on one laptop (``laptop`` is :data:`THIS_LAPTOP` or a short id)."""

    laptop: str
    user: str
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Failure:
    """A record that failed or is held, with the reason code the sync recorded."""

    record_id: str
    code: str
    state: str
    reason: str
    user: str


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One sync: when, by whom, how (``network``, ``usb-export``, ``receipt``, ``relay``,
    ``forward``), and its counts."""

    when: datetime
    user: str
    via: str
    sent: int
    acknowledged: int
    failed: int
    receipt: bool
    laptop: str = ""


@dataclass(frozen=True, slots=True)
class ServerLaptop:
    """One laptop of the coordinator's sites as the server sees it."""

    laptop: str  # short id
    site: str
    status: str  # active, revoked, wipe
    last_contact: str
    held: int  # envelopes the server holds from it
    this: bool = False
    rollback_suspected: bool = False


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a bundle action did, for the result line (``repeat`` when it changed nothing)."""

    action: str
    count: int
    acknowledged: int = 0
    failed: int = 0
    repeat: bool = False
    laptop: str = ""
    outcomes: Mapping[str, int] = field(default_factory=dict)
    #: Partner acknowledgements of handovers: written beside a relay's receipt, or applied
    #: with a receipt (:func:`acks_beside`).
    handover_acks: int = 0


#: The keys of the sync's audited notes that are no sync of their own (the history skips them).
_NOTES = frozenset({"handover_acks_refused", "handovers_held"})


def acks_beside(receipt: Path) -> Path:
    """Where a relay writes, beside the receipt it carries back, the partners'
    acknowledgements of that laptop's handover packets (one per line), and where applying
    that receipt looks for them."""
    return receipt.with_name(receipt.name + ".acks")


def _short(device_id: str) -> str:
    return device_id[:8].upper()


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def record_network_sync(vault: Vault, summary: Any) -> None:
    """Write a network sync's counts to the audit log (when someone is signed in)."""
    if summary is None or not vault.is_unlocked:
        return
    moved = summary.sent + summary.delivered + summary.already_held + summary.conflicts
    tampered = list(summary.tampered_ids)
    if not moved + summary.quarantined + summary.rejected + len(tampered):
        return  # a background pull that found nothing to send is not a sync of records
    detail = {
        "via": "network",
        "sent": int(summary.sent),
        "acknowledged": int(summary.delivered + summary.already_held),
        "failed": int(summary.conflicts + summary.quarantined + summary.rejected),
        "receipt": bool(summary.delivered or summary.already_held),
    }
    if tampered:  # each one was audited when it was quarantined (or at the next unlock)
        detail["tampered"] = len(tampered)
    vault.record_event("sync", None, detail)


class BatchModel:
    """The batch view's reads and bundle actions over the app's vault backend.

    Args:
        backend: the app's :class:`~fieldscreen.ui.backends.VaultBackend`.
        settings: the app's settings (the device store needs them).
        server: the coordinator's requests to the enrolled server (built in ``app.py``); None:
            the server view says the laptop is not provisioned.

    Call every method through the operations helper: they read the vault, the files and the
    network.
    """

    def __init__(self, backend: Any, settings: Any, server: StaffServer | None = None) -> None:
        self._backend = backend
        self._settings = settings
        self._server = server

    # ------------------------------------------------------------------ reading
    def _require(self) -> Any:
        from fieldscreen.ui.supervision import can_supervise

        vault = self._backend.vault
        me = vault.current_user
        if me is None or not can_supervise(me.role):
            from fieldscreen.vault import VaultError

            raise VaultError("vault-not-allowed", role=me.role if me else "")
        return vault

    def _states(self, vault: Any) -> dict[str, tuple[str, str | None]]:
        out: dict[str, tuple[str, str | None]] = {}
        after = 0
        while True:
            page = vault.outbox_page(limit=_PAGE, after_seq=after, states=STATES)
            for item in page:
                if item.kind in COUNTED_KINDS:  # audit segments and case events are no screenings
                    out[item.record_id] = (item.state, item.reason)
            if len(page) < _PAGE:
                return out
            after = page[-1].device_seq

    def overview(self) -> tuple[list[GroupRow], list[Failure], list[HistoryRow]]:
        """Counts per laptop and user, the failures with reasons, and the sync history."""
        from fieldscreen.ui.ports import record_code

        backend = self._backend
        with backend.exclusive():
            vault = self._require()
            users = {u.user_id: u.login for u in vault.users()}
            # the sync history from the entries that check (a break is said at unlock)
            log, _ = vault.audit_log_report()
            states = self._states(vault)
        finaliser = {e.record_id: e.user_id for e in log if e.action == "finalise"}
        groups: dict[tuple[str, str], dict[str, int]] = {}
        failures: list[Failure] = []
        for rid, (state, reason) in states.items():
            user = users.get(finaliser.get(rid, ""), "")
            counts = groups.setdefault((THIS_LAPTOP, user), dict.fromkeys(STATES, 0))
            counts[state] = counts.get(state, 0) + 1
            if state in {"failed", "quarantined"}:
                failures.append(Failure(rid, record_code(rid), state, reason or "", user))
        history: list[HistoryRow] = []
        relayed: dict[str, dict[str, int]] = {}
        for entry in log:
            if entry.action != "sync":
                continue
            d = entry.detail or {}
            if "via" not in d and _NOTES & set(d):
                continue  # a note the sync wrote (acknowledgements refused, packets held)
            row = HistoryRow(
                _when(entry.time),
                users.get(entry.user_id, ""),
                str(d.get("via", "network")),
                int(d.get("sent", d.get("delivered", 0))),
                int(d.get("acknowledged", d.get("delivered", 0))),
                int(d.get("failed", 0)),
                bool(d.get("receipt", False)),
                str(d.get("laptop", "")),
            )
            history.append(row)
            if row.via == "relay" and row.laptop:
                # the other laptop's latest relay says what the server holds of its bundle
                relayed[row.laptop] = {
                    "delivered": row.acknowledged,
                    "failed": int(d.get("failed", 0)) - int(d.get("quarantined", 0)),
                    "quarantined": int(d.get("quarantined", 0)),
                }
        rows = [GroupRow(laptop, user, counts) for (laptop, user), counts in groups.items()]
        rows.sort(key=lambda r: r.user)
        for laptop, counts in sorted(relayed.items()):
            rows.append(GroupRow(laptop, "", {**dict.fromkeys(STATES, 0), **counts}))
        failures.sort(key=lambda f: (f.state, f.code))
        history.sort(key=lambda h: h.when, reverse=True)
        return rows, failures, history

    # ------------------------------------------------------------------ actions
    def _device(self) -> Any:
        from fieldscreen.device import VaultDeviceStore

        return VaultDeviceStore(self._backend.vault, self._settings)

    def _provisioning(self, device: Any) -> Any:
        from fieldscreen.sync.errors import SyncError

        provisioning = device.provisioning()
        if provisioning is None:
            raise SyncError("sync-not-provisioned")
        return provisioning

    def _audit(self, detail: dict[str, Any]) -> None:
        self._backend.vault.record_event("sync", None, detail)

    def export(self, path: Path) -> BatchOutcome:
        """Every screening waiting on this laptop into a USB bundle at ``path``."""
        from fieldscreen.sync.bundle import export_bundle

        with self._backend.exclusive():
            self._require()
            device = self._device()
            identity = device.identity()
            device_id = identity.device_id if identity else self._backend.vault.device_id
            device.check_before_sync()  # the audit entries since the last sync go with them
            device.hold_withdrawn_handovers()  # a withdrawn partner's packet is not carried
            info = export_bundle(
                Path(path),
                device_id,
                device,
                public_key=identity.public_key if identity else None,
                packets=[packet for _, _, packet in device.queued_handovers()],
            )
            # (a row changed after it was signed was audited as it was quarantined)
            self._audit({"via": "usb-export", "sent": info.count, "acknowledged": 0, "failed": 0})
        return BatchOutcome("export", info.count)

    def apply_receipt(self, path: Path) -> BatchOutcome:
        """Mark what a receipt file names delivered; a second time changes nothing."""
        from fieldscreen.sync.bundle import apply_receipt_file
        from fieldscreen.sync.errors import SyncError

        with self._backend.exclusive():
            self._require()
            device = self._device()
            provisioning = self._provisioning(device)
            identity = device.identity()
            device_id = identity.device_id if identity else self._backend.vault.device_id
            if identity is None and device_id is None:
                raise SyncError("sync-not-enrolled")
            changed, receipt = apply_receipt_file(
                Path(path), device, provisioning.receipt_public_key, device_id
            )
            acks = 0
            try:  # the partners' acknowledgements the relay wrote beside it, if any
                lines = acks_beside(Path(path)).read_bytes().splitlines()
            except OSError:
                lines = []
            if lines := [line for line in lines if line.strip()]:
                acks = device.apply_handover_acks(lines)[0]
            self._audit(
                {
                    "via": "receipt",
                    "sent": 0,
                    "acknowledged": changed,
                    "failed": len(receipt.conflicts),
                    "receipt": True,
                    **({"handover_acks": acks} if lines else {}),
                }
            )
        return BatchOutcome(
            "receipt",
            len(receipt.delivered),
            acknowledged=changed,
            failed=len(receipt.conflicts),
            repeat=changed == 0 and acks == 0,
            handover_acks=acks,
        )

    def relay(self, path: Path, token_file: Path | None, receipt_out: Path) -> BatchOutcome:
        """Upload another laptop's bundle to the server and write its receipt to
        ``receipt_out`` (to carry back); a bundle relayed before is shown as such."""
        from fieldscreen.paths import atomic_write_bytes
        from fieldscreen.sync.bundle import read_bundle
        from fieldscreen.sync.relay import read_credential_file, relay_bundle

        token = read_credential_file(token_file)
        with self._backend.exclusive():
            self._require()
            provisioning = self._provisioning(self._device())
            own = self._backend.vault.device_id
        device_id, _ = read_bundle(Path(path))  # checked whole before anything is sent
        if device_id == own:
            raise UIError("relay-same-laptop")
        # The network call runs without the vault's lock: screens keep saving meanwhile.
        result = relay_bundle(
            Path(path),
            server_url=provisioning.server_url,
            token=token,
            receipt_key=provisioning.receipt_public_key,
            allow_insecure=provisioning.allow_insecure_http,
        )
        if result.receipt is not None:
            atomic_write_bytes(Path(receipt_out), result.receipt)
        if result.acks:
            atomic_write_bytes(
                acks_beside(Path(receipt_out)), b"".join(a + b"\n" for a in result.acks)
            )
        with self._backend.exclusive():
            self._audit(
                {
                    "via": "relay",
                    "laptop": _short(result.device_id),
                    "sent": result.envelopes,
                    "acknowledged": result.acknowledged,
                    "failed": result.failed,
                    "quarantined": result.outcomes.get("quarantined", 0),
                    "new": result.stored,
                    "receipt": result.receipt is not None,
                }
            )
        return BatchOutcome(
            "relay",
            result.envelopes,
            acknowledged=result.acknowledged,
            failed=result.failed,
            repeat=result.already_relayed,
            laptop=_short(result.device_id),
            outcomes=dict(result.outcomes),
            handover_acks=len(result.acks),
        )

    def server_view(self, token_file: Path | None) -> list[ServerLaptop]:
        """Every laptop of the coordinator's sites as the server sees it (status, last contact,
        envelopes held), with the coordinator's credential; counts only."""
        from fieldscreen.sync.errors import SyncError
        from fieldscreen.sync.relay import read_credential_file

        token = read_credential_file(token_file)
        with self._backend.exclusive():
            self._require()
            own = self._backend.vault.device_id
        if self._server is None:
            raise SyncError("sync-not-provisioned")
        stats = self._server.stats(token)
        held: dict[str, int] = {}
        for row in stats.get("per_day", ()):
            device = str(row.get("device", ""))
            held[device] = held.get(device, 0) + int(row.get("envelopes", 0))
        out = [
            ServerLaptop(
                _short(str(d.get("device", ""))),
                str(d.get("site", "")),
                str(d.get("status", "")),
                str(d.get("last_contact") or ""),
                held.get(str(d.get("device", "")), 0),
                this=d.get("device") == own,
                rollback_suspected=bool(d.get("rollback_suspected", False)),
            )
            for d in stats.get("devices", ())
        ]
        return sorted(out, key=lambda r: (not r.this, r.site, r.laptop))

    def forward(self, path: Path, out: Path) -> BatchOutcome:
        """No server here either: check another laptop's bundle and save it for the next hop."""
        from fieldscreen.sync.relay import forward_bundle

        with self._backend.exclusive():
            self._require()
        info = forward_bundle(Path(path), Path(out))
        with self._backend.exclusive():
            self._audit(
                {
                    "via": "forward",
                    "laptop": _short(info.device_id),
                    "sent": info.count,
                    "acknowledged": 0,
                    "failed": 0,
                }
            )
        return BatchOutcome("forward", info.count, laptop=_short(info.device_id))
