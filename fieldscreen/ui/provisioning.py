"""First run's provisioner: reads a signed provisioning file for the first-run screen to show,
and applies it to the vault once the administrator's account exists (Qt-free).

Reading verifies the file against the key it names (trust on first use, as
:func:`fieldscreen.device.apply_provisioning` does on a new laptop) and shows what it sets: the
organisation, the server, the sites with their jurisdiction and the policies it locks. Applying
goes through :func:`fieldscreen.device.apply_provisioning` on the writer, after the first
account has unlocked the vault. The device module (and with it the vault) is imported only when
a file is applied, never on the start-up path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldscreen.errors import KnownError
from fieldscreen.paths import provisioning_candidates
from fieldscreen.ui.errors import UIError

__all__ = ["DeviceProvisioner", "EnrolmentStatus", "ProvisioningPreview", "SiteChoice"]

#: Larger than any real provisioning file (a few kilobytes); refuses to read a wrong file whole.
MAX_FILE_BYTES = 1_000_000
#: Larger than any real service directory (a few hundred services).
MAX_DIRECTORY_BYTES = 8_000_000


@dataclass(frozen=True, slots=True)
class SiteChoice:
    id: str
    name: str
    jurisdiction: str


@dataclass(frozen=True, slots=True)
class ProvisioningPreview:
    """What a verified provisioning file sets, for the first-run screen to show."""

    organisation: str
    server_url: str
    sites: tuple[SiteChoice, ...]
    language: str
    locked: tuple[str, ...]
    data: bytes

    def site(self, site_id: str) -> SiteChoice | None:
        return next((s for s in self.sites if s.id == site_id), None)


@dataclass(frozen=True, slots=True)
class EnrolmentStatus:
    """Where this laptop stands with the server, for the enrolment dialog and Settings."""

    provisioned: bool
    server_url: str
    device_id: str = ""
    site: str = ""

    @property
    def enrolled(self) -> bool:
        return bool(self.device_id)


class _LockedDevice:
    """The device store for :func:`~fieldscreen.sync.commands.enroll.enrol` with every vault
    call (the proof's signature included) under the backend's lock, one call at a time: the
    network calls in between hold nothing."""

    def __init__(self, device: Any, lock: Any) -> None:
        self._device = device
        self._lock = lock

    def provisioning(self) -> Any:
        with self._lock:
            return self._device.provisioning()

    def enrolment_signer(self) -> tuple[bytes, Any, str | None]:
        with self._lock:
            public, sign, device_id = self._device.enrolment_signer()

        def locked_sign(message: bytes) -> bytes:
            with self._lock:
                return bytes(sign(message))

        return public, locked_sign, device_id

    def save_identity(self, identity: Any) -> None:
        with self._lock:
            self._device.save_identity(identity)


def _bad_file(path: Path, reason: str) -> UIError:
    return UIError("sync-bad-file", path=path.name, what="provisioning file", reason=reason)


class DeviceProvisioner:
    """The provisioner the app wires into first run.

    Args:
        vault: the app's :class:`~fieldscreen.ui.backends.VaultBackend` (its ``vault`` is the
            real vault once the first account exists).
        settings: the app's settings, which the file's policies lock.
    """

    def __init__(self, vault: Any, settings: Any) -> None:
        self._backend = vault
        self._settings = settings

    def find(self) -> Path | None:
        """The provisioning file beside the app or machine-wide, if there is one."""
        return next((p for p in provisioning_candidates() if p.is_file()), None)

    def read(self, path: Path) -> ProvisioningPreview:
        """Read and verify ``path``; raises KnownError when it is not a genuine file."""
        from fieldscreen.sync.errors import EnvelopeError, SyncError
        from fieldscreen.sync.signed import Provisioning, SignedDocument, verify_document

        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError:
            raise _bad_file(path, "unreadable") from None
        if len(data) > MAX_FILE_BYTES:
            raise _bad_file(path, "too large")
        try:
            document = SignedDocument.from_bytes(data)
            provisioning = Provisioning.from_content(document.content)
            verify_document(document, provisioning.signing_public_key, kind="provisioning")
        except EnvelopeError as exc:
            raise _bad_file(path, exc.reason) from None
        except SyncError:
            raise
        locked = tuple(sorted(provisioning.policies))
        return ProvisioningPreview(
            organisation=provisioning.organisation,
            server_url=provisioning.server_url,
            sites=tuple(
                SiteChoice(s.id, s.name or s.id, s.jurisdiction) for s in provisioning.sites
            ),
            language=provisioning.language,
            locked=locked,
            data=data,
        )

    def form_context(self) -> dict[str, str]:
        """The screening context of this laptop's site: ``site`` and ``jurisdiction`` (the
        forms' ``ctx_site`` / ``ctx_jurisdiction``, so statutory deadlines appear). Needs the
        vault unlocked (the provisioning is kept encrypted); empty before provisioning."""
        from fieldscreen.device import form_context, stored_provisioning

        provisioning = stored_provisioning(self._backend.vault)
        if provisioning is None:
            return {}
        values = form_context(provisioning, str(self._settings.get("site_id")))
        return {"site": values["ctx_site"], "jurisdiction": values["ctx_jurisdiction"]}

    def enforce_policies(self) -> list[KnownError]:
        """Put the locked policies of the vault's provisioning back over an edited settings
        file (vault unlocked, on the writer); what to tell the user (audited)."""
        from fieldscreen.device import enforce_locked_policies

        with self._backend.exclusive():
            return enforce_locked_policies(self._backend.vault, self._settings).notices()

    def apply(self, data: bytes) -> None:
        """Apply a file read by :meth:`read` (on the writer, with an admin signed in)."""
        from fieldscreen.device import apply_provisioning

        with self._backend.exclusive():
            apply_provisioning(self._backend.vault, self._settings, data)

    def service_directory(self) -> Any:
        """The site's :class:`~fieldscreen.directory.ServiceDirectory` (or None), verified;
        vault unlocked, on the writer."""
        from fieldscreen.device import site_directory

        with self._backend.exclusive():
            return site_directory(self._backend.vault, self._settings)

    def import_directory(self, path: Path) -> Any:
        """Verify and keep a signed directory file for this site (on the writer, an admin)."""
        from fieldscreen.device import import_directory_file

        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_DIRECTORY_BYTES + 1)
        except OSError:
            raise UIError(
                "sync-bad-file", path=path.name, what="service directory", reason="unreadable"
            ) from None
        if len(data) > MAX_DIRECTORY_BYTES:
            raise UIError(
                "sync-bad-file", path=path.name, what="service directory", reason="too large"
            )
        with self._backend.exclusive():
            return import_directory_file(self._backend.vault, self._settings, data, path.name)

    def enrolment_status(self) -> EnrolmentStatus:
        """Provisioned? Enrolled, as which device and site? (vault unlocked; on the writer)."""
        from fieldscreen.device import VaultDeviceStore, stored_provisioning

        with self._backend.exclusive():
            provisioning = stored_provisioning(self._backend.vault)
            if provisioning is None:
                return EnrolmentStatus(False, str(self._settings.get("server_url")))
            identity = VaultDeviceStore(self._backend.vault, self._settings).identity()
        if identity is None:
            return EnrolmentStatus(True, provisioning.server_url)
        return EnrolmentStatus(True, provisioning.server_url, identity.device_id, identity.site)

    def enrol(self, code: str, label: str = "", progress: Any = None) -> EnrolmentStatus:
        """Enrol with a one-time code (on the network lane: it waits for the server).

        The same code path as ``fieldscreen enroll``
        (:func:`fieldscreen.sync.commands.enroll.enrol`); nothing is saved unless it succeeds.
        """
        from fieldscreen.device import VaultDeviceStore
        from fieldscreen.sync.commands.enroll import enrol

        lock = self._backend.exclusive()
        with lock:
            device = VaultDeviceStore(self._backend.vault, self._settings)
        done = enrol(_LockedDevice(device, lock), code, label, progress=progress)
        return EnrolmentStatus(True, done.server_url, done.device_id, done.site)
