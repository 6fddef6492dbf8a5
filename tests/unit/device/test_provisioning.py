"""Provisioning on the real vault: trust on first use, key pinning, locked policies, sites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.device import apply_provisioning, form_context, stored_provisioning, wire_signing
from fieldscreen.errors import KnownError
from fieldscreen.settings import Settings
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.vault import Vault

PASS = b"correct horse battery"


class Org:
    def __init__(self) -> None:
        self.sealing_private, self.sealing_public = crypto.generate_sealing_keypair()
        self.signing_private, self.signing_public = crypto.generate_signing_keypair()
        _, self.receipt_public = crypto.generate_signing_keypair()

    def file(self, *, signer: Org | None = None, **changes: object) -> bytes:
        fields: dict[str, object] = {
            "organisation": "Org",
            "server_url": "https://sync.example.org",
            "sealing_public_key": self.sealing_public,
            "signing_public_key": self.signing_public,
            "receipt_public_key": self.receipt_public,
            "sites": (Site("tij1", "Tijuana 1", "MX"), Site("sd1", "San Diego", "US")),
            "language": "es",
            "policies": {"auto_lock_minutes": 3, "travel_mode_allowed": False},
        }
        fields.update(changes)
        content = Provisioning(**fields).to_content()  # type: ignore[arg-type]
        by = signer or self
        return sign_document(
            "provisioning", "provisioning", "1", content, by.signing_private, by.signing_public
        ).to_bytes()


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    crypto.permit_test_parameters(True)
    v = Vault.create(
        tmp_path / "data", admin_login="admin1", passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    yield v
    v.close()
    crypto.permit_test_parameters(False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(tmp_path / "settings.json")


def test_first_file_is_trusted_and_applied(vault: Vault, settings: Settings) -> None:
    org = Org()
    provisioning = apply_provisioning(vault, settings, org.file())
    assert vault.org_signing_key() == org.signing_public
    assert vault.org_sealing_key() == org.sealing_public
    assert stored_provisioning(vault) == provisioning
    reloaded = Settings.load(settings.path)
    assert reloaded.get("server_url") == "https://sync.example.org"
    assert reloaded.get("language") == "es"
    assert reloaded.get("site_id") == "tij1"
    assert form_context(provisioning, "sd1") == {"ctx_site": "sd1", "ctx_jurisdiction": "US"}
    assert wire_signing(vault)


def test_bad_signature_is_refused_and_changes_nothing(vault: Vault, settings: Settings) -> None:
    org = Org()
    data = bytearray(org.file())
    data[data.index(b'"signature":"') + 14] ^= 1
    with pytest.raises((SyncError, KnownError)) as info:
        apply_provisioning(vault, settings, bytes(data))
    assert "not signed by your organisation" in str(info.value) or "not a valid" in str(info.value)
    assert vault.org_signing_key() is None
    assert not settings.path.exists()


def test_a_file_signed_by_another_key_is_refused_after_first_use(
    vault: Vault, settings: Settings
) -> None:
    org, evil = Org(), Org()
    apply_provisioning(vault, settings, org.file())
    with pytest.raises(KnownError) as info:
        apply_provisioning(vault, settings, evil.file(server_url="https://evil.example"))
    assert info.value.code == "device-provisioning-key-changed"
    # A file claiming the pinned key but signed by another is refused too.
    with pytest.raises(SyncError):
        apply_provisioning(
            vault, settings, org.file(signer=evil, signing_public_key=org.signing_public)
        )
    assert stored_provisioning(vault).server_url == "https://sync.example.org"  # type: ignore[union-attr]
    # The same organisation may change its settings.
    assert apply_provisioning(vault, settings, org.file(language="en")).language == "en"


def test_locked_policies_cannot_be_loosened(vault: Vault, settings: Settings) -> None:
    apply_provisioning(vault, settings, Org().file())
    reloaded = Settings.load(settings.path)
    assert reloaded.get("auto_lock_minutes") == 3
    assert reloaded.get("travel_mode_allowed") is False
    for name, value in (("auto_lock_minutes", 60), ("travel_mode_allowed", True)):
        with pytest.raises(KnownError) as info:
            reloaded.set(name, value)
        assert info.value.code == "setting-locked"
    assert reloaded.get("auto_lock_minutes") == 3


def test_out_of_range_policy_is_refused_before_anything_is_written(
    vault: Vault, settings: Settings
) -> None:
    with pytest.raises(KnownError) as info:
        apply_provisioning(vault, settings, Org().file(policies={"auto_lock_minutes": 999}))
    assert info.value.code == "setting-invalid"
    assert vault.org_signing_key() is None


def test_policies_of_the_wrong_type_or_name_are_malformed() -> None:
    org = Org()
    for policies in ({"auto_lock_minutes": True}, {"root_shell": 1}):
        with pytest.raises(KnownError):
            Provisioning.from_content(
                org.file(policies={})  # a valid file, then a forged content
                and Provisioning(
                    "Org", "https://x", b"a", b"b", b"c", (), policies={}
                ).to_content()[:-1]
                + b',"policies":'
                + str(policies).replace("'", '"').replace("True", "true").encode()
                + b"}"
            )


def test_old_files_with_plain_site_ids_still_read() -> None:
    prov = Provisioning("Org", "https://x", b"a", b"b", b"c", ("s1",))  # type: ignore[arg-type]
    assert prov.sites == (Site("s1", "s1", ""),)
    assert Provisioning.from_content(prov.to_content()) == prov
