"""The device, composed without Qt: its vault, its settings, provisioning, and the sync stores.

This is where the vault and sync meet (sync never imports the vault): the headless commands
and the desktop app both go through it.

Public API::

    open_settings(paths) -> Settings
    open_vault(paths, settings) -> Vault                       # locked
    seal_under_duress(vault)         # what the duress passphrase does at unlock
    find_provisioning_file(explicit=None) -> Path | None
    apply_provisioning(vault, settings, file_bytes) -> Provisioning
    stored_provisioning(vault) -> Provisioning | None  # only one the admin-signed roster allows
    enforce_locked_policies(vault, settings) -> PolicyCheck  # after unlock: the vault's
                                     # provisioning, not settings.json, decides what is locked
    wire_signing(vault) -> bool      # envelopes signed as the server verifies them
    form_context(provisioning, site_id) -> {"ctx_site": ..., "ctx_jurisdiction": ...}
    site_directory(vault, settings) -> ServiceDirectory | None   # the site's, verified
    import_directory_file(vault, settings, data, name) -> ServiceDirectory
    VaultDeviceStore(vault, settings)  # OutboxStore + DeviceState over the real vault
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldscreen.directory import ServiceDirectory, pick, sample_directory
from fieldscreen.errors import BugError, DeviceError, KnownError
from fieldscreen.paths import Paths, provisioning_candidates
from fieldscreen.settings import Settings
from fieldscreen.sync.canonical import b64d, b64e
from fieldscreen.sync.errors import EnvelopeError, SyncError
from fieldscreen.sync.signed import Provisioning, SignedDocument, verify_document
from fieldscreen.sync.store import DeviceIdentity, DeviceStatus, OutboxItem, RecordState
from fieldscreen.sync.vault_bridge import VaultOutboxStore, header_signing_bytes
from fieldscreen.vault import Vault
from fieldscreen.vault.errors import VaultError

__all__ = [
    "PolicyCheck",
    "VaultDeviceStore",
    "apply_provisioning",
    "enforce_locked_policies",
    "find_provisioning_file",
    "form_context",
    "import_directory_file",
    "locked_policies",
    "open_settings",
    "open_vault",
    "seal_under_duress",
    "site_directory",
    "stored_provisioning",
    "wire_signing",
]

_PROVISIONING = "sync.provisioning"
#: The provisioning as the organisation signed it (its content is what ``_PROVISIONING`` holds).
_PROVISIONING_SIGNED = "sync.provisioning.signed"
#: The organisation's match secret, from the provisioning file that brought it.
_MATCH_SECRET = "match.secret"  # noqa: S105 -- the name of a vault slot
_IDENTITY = "sync.identity"
_UPDATES = "sync.updates"
#: The handover packets waiting to go through the server (docs/handover.md), kept encrypted:
#: ``{packet_id: [partner, base64 of the packet]}`` (each packet sealed to its partner too).
_HANDOVER_QUEUE = "handover.queue"
#: Packets taken off the queue because the site's signed directory no longer names their
#: partner with keys: kept sealed until a person resends or discards them.
_HANDOVER_HELD = "handover.held"
#: The cursor of the last partner acknowledgement the server sent and the sync applied.
_HANDOVER_ACKS_CURSOR = "handover.acks_cursor"


def open_settings(paths: Paths) -> Settings:
    return Settings.load(paths.settings_file)


def open_vault(paths: Paths, settings: Settings) -> Vault:
    """The profile's vault, locked (unlock it, then call :func:`wire_signing`)."""
    vault = Vault.open(paths.vault_dir, follow_up_days=int(settings.get("follow_up_window_days")))
    vault.on_duress = seal_under_duress
    return vault


def seal_under_duress(vault: Vault) -> None:
    """What the duress passphrase does at unlock: travel mode, its drafts signed as the server
    verifies (so they reach the organisation at the next sync)."""
    wire_signing(vault)
    vault.travel_mode()


def find_provisioning_file(explicit: Path | None = None) -> Path | None:
    """``explicit`` when given, else the first of :func:`provisioning_candidates` that exists."""
    if explicit is not None:
        return explicit
    return next((p for p in provisioning_candidates() if p.is_file()), None)


def stored_provisioning(vault: Vault) -> Provisioning | None:
    """The provisioning applied on this device (kept encrypted in the vault), if the roster an
    admin signed allows it (:func:`check_provisioning`); None before provisioning or when the
    copy in the vault was refused."""
    return check_provisioning(vault).provisioning


# ------------------------------------------------------------------ the anchor
# Anyone with the laptop's files and a passphrase holds the master key, so the vault's copy of
# the provisioning is only as trustworthy as the people who can write the database. What only
# an admin can write is the roster (signed by the admin key): it carries an anchor, the hash of
# the provisioning an admin approved, the organisation's signing key and the policies it locks.
# A copy in the vault is used when it is the one anchored, or a later one the organisation
# signed with that key (a provisioning update a sync brought, with no admin signed in).


def provisioning_anchor(
    provisioning: Provisioning, document: SignedDocument | None = None
) -> dict[str, Any]:
    """What an admin signs into the roster for ``provisioning`` (``document`` signed it)."""
    return {
        # the key the vault seals to, as the vault names it (:meth:`Vault.set_org_keys`)
        "org_sealing_key": provisioning.sealing_public_key.hex(),
        "org_signing_key": b64e(provisioning.signing_public_key),
        "provisioning_sha256": hashlib.sha256(provisioning.to_content()).hexdigest(),
        "issued": None if document is None else document.issued,
        "policies": locked_policies(provisioning),
    }


@dataclass
class PolicyCheck:
    """What :func:`check_provisioning` and :func:`enforce_locked_policies` found."""

    #: The provisioning in force (None before provisioning, or refused).
    provisioning: Provisioning | None = None
    #: The locked settings and their values.
    locks: dict[str, Any] = field(default_factory=dict)
    #: The vault's copy was changed outside FieldScreen: the anchored policies are in force.
    refused: bool = False
    #: The copy is a later one the organisation signed than the one anchored.
    newer: bool = False
    #: Locked settings the settings file had edited (put back).
    edited: list[str] = field(default_factory=list)
    #: The vault's copy is gone and no anchor names its policies: the locks the settings
    #: file holds are kept as they are (the only values left), never dropped.
    kept: bool = False

    def __bool__(self) -> bool:
        """Whether there is anything to tell the user."""
        return self.refused or bool(self.edited)

    def notices(self) -> list[KnownError]:
        """What to tell the user, in their language (``.message(lang)``)."""
        notices = []
        if self.refused:
            notices.append(KnownError("settings-provisioning-refused"))
        if self.edited:
            notices.append(KnownError("settings-locked-restored", names=", ".join(self.edited)))
        return notices


def _follows(anchor: Mapping[str, Any], document: SignedDocument, content: bytes) -> bool:
    """Whether ``document`` is a provisioning the anchored key signed, issued no earlier than the
    anchored one, whose content is ``content``."""
    try:
        key = b64d(str(anchor["org_signing_key"]), "key")
        verify_document(document, key, kind="provisioning")
        provisioning = Provisioning.from_content(document.content)
    except (EnvelopeError, SyncError, KeyError):
        return False
    issued = anchor.get("issued")
    return (
        provisioning.signing_public_key == key
        and provisioning.to_content() == content
        and (issued is None or document.issued >= str(issued))
    )


def check_provisioning(vault: Vault) -> PolicyCheck:
    """The provisioning in force and the policies it locks (vault unlocked; changes nothing).

    The copy kept in the vault is used when its hash is the one the roster's anchor names, or
    when it is a provisioning the anchored organisation key signed later (a sync brought it);
    otherwise it is refused and the anchored policies stay in force. A key file signed before
    anchors existed has none: its vault's copy is used as before, until an admin unlocks; a
    copy the state digest says was deleted or put back is refused there too, and the settings
    file's locks are kept rather than dropped (nothing is anchored over it).
    """
    anchor = vault.policy_anchor()
    if vault.secrets_altered() & {_PROVISIONING, _PROVISIONING_SIGNED}:
        # deleted or put back, not never set: neither copy is read
        if not anchor:
            return PolicyCheck(refused=True, kept=True)
        return PolicyCheck(None, dict(anchor.get("policies") or {}), refused=True)
    content = vault.device_secret(_PROVISIONING)
    if content is None and not anchor:
        return PolicyCheck()
    provisioning: Provisioning | None = None
    if content is not None:
        try:
            provisioning = Provisioning.from_content(content)
        except EnvelopeError:
            provisioning = None
    if anchor is None:
        return PolicyCheck(provisioning, locked_policies(provisioning))
    if provisioning is not None and content is not None and anchor:
        if hashlib.sha256(content).hexdigest() == anchor.get("provisioning_sha256"):
            return PolicyCheck(provisioning, locked_policies(provisioning))
        signed = vault.device_secret(_PROVISIONING_SIGNED)
        if signed is not None:
            try:
                document = SignedDocument.from_bytes(signed)
            except EnvelopeError:
                document = None
            if document is not None and _follows(anchor, document, content):
                return PolicyCheck(provisioning, locked_policies(provisioning), newer=True)
    return PolicyCheck(None, dict(anchor.get("policies") or {}), refused=True)


def _anchor_now(vault: Vault, check: PolicyCheck) -> None:
    """An admin is signed in: anchor the provisioning in force, when the roster has no anchor
    yet (a key file from before anchors) or names an older one."""
    user = vault.current_user
    if user is None or user.role != "admin" or check.refused:
        return
    anchor = vault.policy_anchor()
    # an anchor from before it named the organisation's sealing key is signed again with it
    unnamed = (
        anchor is not None and check.provisioning is not None and "org_sealing_key" not in anchor
    )
    if anchor is not None and not check.newer and not unnamed:
        return
    if check.provisioning is None:
        vault.set_policy_anchor({})
        return
    document = None
    signed = vault.device_secret(_PROVISIONING_SIGNED)
    if signed is not None:
        try:
            document = SignedDocument.from_bytes(signed)
        except EnvelopeError:
            document = None
    if document is not None and _canonical_content(document) != check.provisioning.to_content():
        document = None
    vault.set_policy_anchor(provisioning_anchor(check.provisioning, document))


def _canonical_content(document: SignedDocument) -> bytes | None:
    try:
        return Provisioning.from_content(document.content).to_content()
    except EnvelopeError:
        return None


def wire_signing(vault: Vault) -> bool:
    """Make finalise sign exactly what the server verifies; False before provisioning.

    Drafts that an older server refused (travel mode's, before it knew the kind) go back in
    the queue here, signed as the server verifies (:meth:`Vault.requeue_refused_drafts`), and
    so do finalised records whose outbox row was lost (:meth:`Vault.repair_outbox`)."""
    key = vault.org_sealing_key()
    if key is None:
        return False
    vault.use_signing_bytes(header_signing_bytes(key))
    vault.requeue_refused_drafts()
    vault.repair_outbox()  # finalised records whose outbox row was lost: sealed again
    return True


def apply_provisioning(vault: Vault, settings: Settings, file_bytes: bytes) -> Provisioning:
    """Verify a signed provisioning file and apply it (an admin must have unlocked the vault).

    The first file is trusted on first use and pins the organisation's signing key; every later
    file must be signed by that same key, so a forged file cannot swap the keys. The file's
    policies are locked in ``settings`` (a user cannot loosen them); server, sites and
    language are applied; the keys go into the vault.
    """
    pinned = vault.org_signing_key()
    try:
        document = SignedDocument.from_bytes(file_bytes)
        provisioning = Provisioning.from_content(document.content)
    except EnvelopeError as exc:
        raise DeviceError(
            "sync-bad-file", path="provisioning", what="provisioning file", reason=exc.reason
        ) from None
    if pinned is not None and provisioning.signing_public_key != pinned:
        raise DeviceError("device-provisioning-key-changed")
    verify_document(document, pinned or provisioning.signing_public_key, kind="provisioning")
    scratch = Settings(settings.path, dict(settings.values), dict(settings.locked))
    _apply_settings(scratch, provisioning)  # validates every policy before anything is written
    user = vault.current_user
    if user is not None and user.role == "admin":
        # The roster first: killed before the vault's copy is written, the anchored policies
        # (this file's) are in force and the copy is refused until the file is applied again.
        vault.set_policy_anchor(provisioning_anchor(provisioning, document))
    else:  # a sync's update with no admin signed in: only a later file of the anchored key
        anchor = vault.policy_anchor()
        if anchor == {}:
            raise VaultError("vault-not-allowed", role=user.role if user else "specialist")
        if anchor is not None and not (
            hashlib.sha256(provisioning.to_content()).hexdigest()
            == anchor.get("provisioning_sha256")
            or (anchor and _follows(anchor, document, provisioning.to_content()))
        ):
            raise DeviceError("device-provisioning-not-newer")
    if (vault.org_sealing_key_stored(), pinned) != (
        provisioning.sealing_public_key,
        provisioning.signing_public_key,
    ):  # a key change needs an admin; a re-issued file with the same keys does not
        vault.set_org_keys(provisioning.sealing_public_key, provisioning.signing_public_key)
    vault.set_device_secret(_PROVISIONING_SIGNED, document.to_bytes())
    vault.set_device_secret(_PROVISIONING, provisioning.to_content())
    keep_match_secret(vault, provisioning)
    settings.values, settings.locked = scratch.values, scratch.locked
    settings.save()
    wire_signing(vault)
    return provisioning


def keep_match_secret(vault: Vault, provisioning: Provisioning) -> None:
    """Keep the organisation's match secret a provisioning file brought in the vault; a later
    file without one (an update through the server never has one) leaves it as it was."""
    if provisioning.match_secret is not None:
        vault.set_device_secret(_MATCH_SECRET, provisioning.match_secret)


def with_match_tokens(
    vault: Vault, record: Mapping[str, Any], aggregate: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``aggregate`` with the child's match tokens and match consent beside it
    (docs/privacy-matching.md): only when there is an aggregate (a child who declined
    statistics sends none), the organisation's secret is in the vault and the screening
    names a given name. The identifiers are read from the record in memory, never kept."""
    from fieldscreen.reports.matching import identity_from_state, match_consent, match_tokens

    if aggregate is None:
        return None
    out = dict(aggregate)
    secret = vault.device_secret(_MATCH_SECRET)
    state = record.get("state")
    if not secret or not isinstance(state, Mapping):
        return out
    tokens = match_tokens(identity_from_state(state, out.get("age_band")), secret)
    if tokens:
        out["match"] = tokens
        out["match_consent"] = match_consent(state)
    return out


def locked_policies(provisioning: Provisioning | None) -> dict[str, Any]:
    """The settings a provisioning locks, and their values (none before provisioning)."""
    if provisioning is None:
        return {}
    locks: dict[str, Any] = dict(provisioning.policies)
    if provisioning.allow_insecure_http:
        locks["allow_plain_http"] = True
    return locks


def enforce_locked_policies(vault: Vault, settings: Settings) -> PolicyCheck:
    """Make the locked policies those of the provisioning in force (vault unlocked).

    ``settings.json`` is a plain file anyone with the laptop can edit; the provisioning in the
    vault is encrypted, and only the copy the admin-signed roster allows is used
    (:func:`check_provisioning`): a copy rewritten with the master key is refused, reported
    and audited, and the policies the admin approved stay in force. Every locked setting the
    file has removed, changed or added is put back, the file is rewritten, the vault is told
    the follow-up window, and the edit is audited (``settings-tampered``). An admin signed in
    anchors the provisioning in force when the roster has no anchor or names an older one.
    """
    check = check_provisioning(vault)
    if check.kept:
        check.locks = dict(settings.locked)
    wanted = Settings(settings.path)
    for name, value in check.locks.items():
        wanted.lock(name, value)
    missing = object()
    edited = sorted(
        name
        for name in set(wanted.locked) | set(settings.locked)
        if settings.locked.get(name, missing) != wanted.locked.get(name, missing)
        or type(settings.locked.get(name)) is not type(wanted.locked.get(name))
    )
    if edited:
        settings.locked = dict(wanted.locked)
        settings.save()
        vault.record_event("settings-tampered", detail={"settings": edited})
    if check.refused:
        vault.record_event(
            "settings-tampered", detail={"what": "provisioning", "settings": sorted(check.locks)}
        )
    vault.follow_up_days = int(settings.get("follow_up_window_days"))
    _anchor_now(vault, check)
    check.edited = edited
    return check


def _apply_settings(settings: Settings, provisioning: Provisioning) -> None:
    settings.locked = {}  # exactly what this file locks: a lock it drops is dropped
    for name, value in locked_policies(provisioning).items():
        settings.lock(name, value)
    settings.values["server_url"] = provisioning.server_url
    settings.values["language"] = provisioning.language
    site = settings.get("site_id")
    if provisioning.sites and provisioning.site(site) is None:
        settings.values["site_id"] = provisioning.sites[0].id


def form_context(provisioning: Provisioning | None, site_id: str) -> dict[str, str]:
    """The values forms read as ``${ctx_site}`` and ``${ctx_jurisdiction}``."""
    site = provisioning.site(site_id) if provisioning else None
    return {"ctx_site": site_id, "ctx_jurisdiction": site.jurisdiction if site else ""}


def _stored_directories(vault: Vault) -> list[ServiceDirectory]:
    """Every directory kept in the vault, verified again against the pinned signing key."""
    raw = vault.device_secret(_UPDATES)
    pinned = vault.org_signing_key()
    if raw is None or pinned is None:
        return []
    out = []
    for name, entry in dict(json.loads(raw)).get("directory", {}).items():
        try:
            signed = b64d(entry[1], "update")
            document = verify_document(SignedDocument.from_bytes(signed), pinned, kind="directory")
            directory = ServiceDirectory.from_content(document.content, "organisation", name)
            out.append(dataclasses.replace(directory, signed=signed))
        except KnownError:
            continue  # stored before the checks, or the keys changed since: not used
    return out


def site_directory(vault: Vault, settings: Settings) -> ServiceDirectory | None:
    """The service directory of this laptop's site: the newest one the organisation signed
    for it, else the sample directory when the site is a demo site, else None (unlocked)."""
    site = str(settings.get("site_id"))
    return pick(_stored_directories(vault), site) or sample_directory(site)


def import_directory_file(
    vault: Vault, settings: Settings, data: bytes, name: str
) -> ServiceDirectory:
    """Verify a signed directory file (as the server publishes it) and keep it for the site.

    Refused, with nothing changed, unless it is signed by the organisation's pinned key, is a
    valid directory, names this laptop's site and is not older than the directory in use.
    """
    pinned = vault.org_signing_key()
    if pinned is None:
        raise SyncError("sync-not-provisioned")
    try:
        document = SignedDocument.from_bytes(data)
    except EnvelopeError as exc:
        raise DeviceError(
            "sync-bad-file", path=name, what="service directory", reason=exc.reason
        ) from None
    verify_document(document, pinned, kind="directory")
    directory = ServiceDirectory.from_content(document.content, "organisation", name)
    site = str(settings.get("site_id"))
    if directory.site_id != site:
        raise DeviceError("directory-other-site", name=name, site=directory.site_id)
    current = pick(_stored_directories(vault), site)
    if current is not None and current.version > directory.version:
        raise DeviceError("directory-invalid", name=name, reason="older than the one in use")
    VaultDeviceStore(vault, settings).apply_update(document)
    return dataclasses.replace(directory, signed=document.to_bytes())


def queue_handover(vault: Vault, partner: str, packet_id: str, packet: bytes) -> None:
    """Keep ``packet`` for ``partner`` until a sync has put it on the server (durable on
    return; sent again at every sync until the server holds it)."""
    queue = _handover_queue(vault)
    queue[packet_id] = [partner, b64e(packet)]
    vault.set_device_secret(_HANDOVER_QUEUE, json.dumps(queue, sort_keys=True).encode())


def is_enrolled(vault: Vault) -> bool:
    """Whether this laptop has enrolled with a server (its identity is kept); needs unlock."""
    return vault.device_secret(_IDENTITY) is not None


def _handover_queue(vault: Vault) -> dict[str, list[str]]:
    raw = vault.device_secret(_HANDOVER_QUEUE)
    return {} if raw is None else dict(json.loads(raw))


def unqueue_handover(vault: Vault, packet_id: str) -> None:
    """The server holds the packet (a sync posted it), or its partner acknowledged it (it
    went by USB bundle or by file): no longer sent or carried."""
    queue = _handover_queue(vault)
    if queue.pop(packet_id, None) is not None:
        vault.set_device_secret(_HANDOVER_QUEUE, json.dumps(queue, sort_keys=True).encode())


def held_handovers(vault: Vault) -> dict[str, list[str]]:
    """The packets the sync stopped sending because their partner left the site's signed
    directory: packet id -> ``[partner, packet (base64), held since]``."""
    raw = vault.device_secret(_HANDOVER_HELD)
    return {} if raw is None else dict(json.loads(raw))


def decide_held_handover(vault: Vault, packet_id: str, *, resend: bool) -> list[str]:
    """A person's decision on a held packet: ``resend`` puts it back on the queue (the sync
    holds it again while the directory still does not name the partner), else it is discarded,
    audited. Returns the held entry.

    Raises:
        DeviceError: ``handover-not-held``.
    """
    held = held_handovers(vault)
    entry = held.get(packet_id)
    if entry is None:
        raise DeviceError("handover-not-held", packet=packet_id[:64])
    if resend:
        queue_handover(vault, entry[0], packet_id, b64d(entry[1], "handover packet"))
    else:
        vault.record_event(
            "override",
            None,
            {"what": "handover-discarded", "packet": packet_id, "partner": entry[0]},
        )
    del held[packet_id]
    vault.set_device_secret(_HANDOVER_HELD, json.dumps(held, sort_keys=True).encode())
    return entry


class VaultDeviceStore:
    """:class:`~fieldscreen.sync.store.OutboxStore` and ``DeviceState`` over the real vault.

    Provisioning, the enrolment (device id, site, server token) and applied signed updates are
    kept encrypted in the vault; the checkpoint and device state in its plaintext state table;
    the device's private key never leaves the vault (:meth:`sign_as_device`). Reading the
    credentials needs the vault unlocked: the app builds this store after unlock.
    """

    def __init__(
        self,
        vault: Vault,
        settings: Settings,
        *,
        on_wipe: Callable[[], None] | None = None,
    ) -> None:
        self.vault = vault
        self.settings = settings
        self.on_wipe = on_wipe
        self.wiped = False
        key = vault.org_sealing_key()
        if key is None:
            raise SyncError("sync-not-provisioned")
        self._outbox = VaultOutboxStore(vault, key)

    def check_before_sync(self) -> None:
        """The vault's state digest and audit log checked before a sync (audited when wrong;
        the alert was shown at unlock), then the audit entries since the last sync sealed for
        the team (:meth:`Vault.seal_audit_segments`), sent with the screenings."""
        self.vault.check_state()
        self.vault.seal_audit_segments()

    # ------------------------------------------------------------------ OutboxStore
    def pending_page(self, after_seq: int, limit: int) -> Sequence[OutboxItem]:
        return self._outbox.pending_page(after_seq, limit)

    def pending_totals(self) -> tuple[int, int]:
        return self.vault.outbox_totals(("pending", "sending"))

    def set_state(
        self, record_ids: Sequence[str], state: RecordState, reason: str | None = None
    ) -> None:
        self._outbox.set_state(record_ids, state, reason)

    def apply_receipt(
        self, delivered: Sequence[tuple[str, str]], checkpoint: int | None = None
    ) -> int:
        return self.vault.outbox_deliver(delivered, checkpoint)  # one transaction

    def load_checkpoint(self) -> int:
        return self.vault.sync_checkpoint()

    def save_checkpoint(self, seq: int) -> None:
        self.vault.save_sync_checkpoint(seq)

    def highest_seq(self) -> int:
        return self.vault.last_device_seq()

    # ------------------------------------------------------------------ DeviceState
    def signing_key_pair(self) -> tuple[bytes, bytes]:
        raise BugError("the device's private key does not leave the vault; use sign_as_device")

    def enrolment_signer(self) -> tuple[bytes, Callable[[bytes], bytes], str | None]:
        """(public key, signer, the device id to ask for) for enrolment."""
        return self.vault.device_public_key, self.vault.sign_as_device, self.vault.device_id

    def provisioning(self) -> Provisioning | None:
        return stored_provisioning(self.vault)

    def save_provisioning(self, provisioning: Provisioning) -> None:
        """Keep ``provisioning`` as the one in force, anchored in the roster: only with an
        admin signed in. Otherwise nothing is written here: a sync's update arrives signed and
        :meth:`apply_update` keeps it, if the anchored organisation key signed it later."""
        user = self.vault.current_user
        if user is None or user.role != "admin":
            return
        self.vault.set_policy_anchor(provisioning_anchor(provisioning))
        self.vault.set_device_secret(_PROVISIONING, provisioning.to_content())
        keep_match_secret(self.vault, provisioning)

    def identity(self) -> DeviceIdentity | None:
        raw = self.vault.device_secret(_IDENTITY)
        if raw is None:
            return None
        data = json.loads(raw)
        return DeviceIdentity(
            data["device_id"], data["site"], data["token"], b64d(data["public_key"], "key")
        )

    def save_identity(self, identity: DeviceIdentity) -> None:
        if identity.device_id != self.vault.device_id:
            raise BugError("the server enrolled this device under another id")
        raw = {
            "device_id": identity.device_id,
            "site": identity.site,
            "token": identity.token,
            "public_key": b64e(identity.public_key),
        }
        self.vault.set_device_secret(_IDENTITY, json.dumps(raw).encode())
        # The server enrolled the laptop at the code's site and counts its records there: the
        # laptop works at that site (its directory, its forms' jurisdiction) when the
        # provisioning names it, instead of the first site a provisioning of several gave it.
        provisioning = self.provisioning()
        known = provisioning is not None and provisioning.site(identity.site) is not None
        if not self.settings.get("site_id") or (
            known and self.settings.get("site_id") != identity.site
        ):
            self.settings.values["site_id"] = identity.site
            self.settings.save()

    def apply_device_status(self, status: DeviceStatus) -> None:
        if status == "wipe":
            self.vault.wipe()  # key file first: from here nothing on this laptop can be read
            self.wiped = True
            if self.on_wipe is not None:
                self.on_wipe()
            return
        self.vault.set_device_state(status)

    def device_status(self) -> str:
        return self.vault.device_state()

    def update_versions(self) -> Mapping[tuple[str, str], str]:
        return {
            (kind, name): str(entry[0])
            for kind, names in self._updates().items()
            for name, entry in names.items()
        }

    def apply_update(self, document: SignedDocument) -> None:
        """Store a verified update; a provisioning update is applied as a provisioning file.

        A service directory is checked before it is kept (a malformed one raises and the
        directory in use stays)."""
        if document.kind == "directory":
            try:
                ServiceDirectory.from_content(document.content, "organisation", document.name)
            except KnownError as error:  # a sync error: the sync stops and says why
                raise SyncError(error.code, **error.context) from None
        if document.kind == "provisioning":
            apply_provisioning(self.vault, self.settings, document.to_bytes())
        updates = self._updates()
        updates.setdefault(document.kind, {})[document.name] = [
            document.version,
            b64e(document.to_bytes()),
        ]
        self.vault.set_device_secret(_UPDATES, json.dumps(updates, sort_keys=True).encode())

    def update_document(self, kind: str, name: str) -> SignedDocument | None:
        entry = self._updates().get(kind, {}).get(name)
        return None if entry is None else SignedDocument.from_bytes(b64d(entry[1], "update"))

    def _updates(self) -> dict[str, dict[str, Any]]:
        raw = self.vault.device_secret(_UPDATES)
        return {} if raw is None else dict(json.loads(raw))

    # ------------------------------------------------------------------ HandoverQueue
    def queued_handovers(self) -> Sequence[tuple[str, str, bytes]]:
        return [
            (partner, packet_id, b64d(packet, "handover packet"))
            for packet_id, (partner, packet) in sorted(_handover_queue(self.vault).items())
        ]

    def handover_posted(self, packet_id: str) -> None:
        unqueue_handover(self.vault, packet_id)

    def hold_withdrawn_handovers(self) -> int:
        """Take off the queue the packets whose partner the site's signed directory no longer
        names with keys (a partner the organisation withdrew): kept sealed among the held ones
        (:func:`held_handovers`) until a person decides, never posted again meanwhile. Without
        a signed directory nothing is held (the laptop cannot tell). Returns how many are held
        in all."""
        directory = pick(_stored_directories(self.vault), str(self.settings.get("site_id")))
        queue, held = _handover_queue(self.vault), held_handovers(self.vault)
        if directory is not None:
            withdrawn = {
                packet_id: entry
                for packet_id, entry in queue.items()
                if not ((p := directory.partner(entry[0])) and p.can_receive)
            }
            if withdrawn:
                since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
                held.update({k: [v[0], v[1], since] for k, v in withdrawn.items()})
                # held first: a crash in between leaves the packet in both, held again next time
                data = json.dumps(held, sort_keys=True).encode()
                self.vault.set_device_secret(_HANDOVER_HELD, data)
                for packet_id in withdrawn:
                    queue.pop(packet_id)
                self.vault.set_device_secret(
                    _HANDOVER_QUEUE, json.dumps(queue, sort_keys=True).encode()
                )
                self.vault.record_event(
                    "sync",
                    None,
                    {"handovers_held": sorted(withdrawn), "reason": "partner-withdrawn"},
                )
        return len(held)

    def handover_acks_cursor(self) -> str:
        raw = self.vault.device_secret(_HANDOVER_ACKS_CURSOR)
        return "" if raw is None else raw.decode()

    def save_handover_acks_cursor(self, cursor: str) -> None:
        self.vault.set_device_secret(_HANDOVER_ACKS_CURSOR, cursor.encode())

    def apply_handover_acks(self, acks: Sequence[bytes]) -> tuple[int, int]:
        """Each acknowledgement checked against the partner's key in this site's signed
        directory and matched to a packet made here, as ``fieldscreen handover ack`` does; a
        forged or unknown one is refused (audited) and changes nothing."""
        from fieldscreen.device_commands.handover import apply_ack

        directory = site_directory(self.vault, self.settings)
        applied = 0
        refusals: dict[str, int] = {}
        for data in acks:
            try:
                done = apply_ack(self.vault, directory, data, "server")
            except KnownError as error:
                refusals[error.code] = refusals.get(error.code, 0) + 1
                continue
            applied += not done["already"]
        if refusals:  # one entry however many: a server cannot fill the audit log at will
            self.vault.record_event("sync", None, {"handover_acks_refused": refusals})
        return applied, sum(refusals.values())


def read_provisioning_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise DeviceError(
            "sync-bad-file", path=path.name, what="provisioning file", reason="cannot be read"
        ) from None
