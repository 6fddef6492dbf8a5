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


def test_site_option_forms() -> None:
    assert Site.parse("tij1:Tijuana 1:mx") == Site("tij1", "Tijuana 1", "MX")
    assert Site.parse("s1") == Site("s1", "s1", "")
    for bad in ("a:b", "tij1:T:Mexico", "bad id:x:MX"):
        with pytest.raises(KnownError):
            Site.parse(bad)


def test_a_reissued_file_from_sync_applies_for_a_specialist(
    vault: Vault, settings: Settings
) -> None:
    from fieldscreen.device import VaultDeviceStore
    from fieldscreen.sync.signed import SignedDocument

    org = Org()
    apply_provisioning(vault, settings, org.file())
    vault.add_user("spec1", b"another good passphrase", "specialist", admin_passphrase=PASS)
    vault.lock()
    vault.unlock("spec1", b"another good passphrase")
    store = VaultDeviceStore(vault, settings)
    update = SignedDocument.from_bytes(org.file(policies={"auto_lock_minutes": 10}))
    store.apply_update(update)
    assert Settings.load(settings.path).get("auto_lock_minutes") == 10
    assert store.update_versions() == {("provisioning", "provisioning"): "1"}
    # Swapping the organisation's keys is an admin's act, never a side effect of sync.
    new_sealing = Org()
    new_sealing.signing_private = org.signing_private
    new_sealing.signing_public = org.signing_public
    with pytest.raises(KnownError) as info:
        store.apply_update(SignedDocument.from_bytes(new_sealing.file()))
    assert info.value.code == "vault-not-allowed"
    assert vault.org_sealing_key() == org.sealing_public
    assert settings.get("auto_lock_minutes") == 10  # nothing of the refused file was applied


def test_the_match_secret_is_kept_in_the_vault_and_a_later_file_leaves_it(
    vault: Vault, settings: Settings
) -> None:
    """The installer's file brings the organisation's match secret; the vault keeps it
    encrypted, finalise puts the child's tokens beside the aggregate (never the names), and a
    later file without a secret (an update through the server) changes nothing."""
    from fieldscreen.device import with_match_tokens
    from fieldscreen.reports.matching import Identity, match_tokens

    org = Org()
    secret = bytes(range(32))
    apply_provisioning(vault, settings, org.file(match_secret=secret))
    assert vault.device_secret("match.secret") == secret
    apply_provisioning(vault, settings, org.file(language="en"))
    assert vault.device_secret("match.secret") == secret
    record = {
        "state": {
            "forms": {
                "fs_intake": {
                    "answers": [
                        ["given_names", [], "Ana"],
                        ["dob", [], "2012-02-03"],
                        ["country_of_birth", [], "GT"],
                    ]
                },
                "fs_consent": {"answers": [["check_earlier_screening", [], "no"]]},
            }
        }
    }
    aggregate = {"tier": "T2", "age_band": "12_14", "site": "tij1"}
    out = with_match_tokens(vault, record, aggregate)
    assert out is not None
    expected = match_tokens(
        Identity.of("Ana", dob="2012-02-03", age_band="12_14", country="GT"), secret
    )
    assert out["match"] == expected
    assert len(expected) == 3
    assert out["match_consent"] is False
    assert "Ana" not in repr(out)
    assert "2012-02-03" not in repr(out)
    assert with_match_tokens(vault, record, None) is None  # statistics declined: nothing


def test_a_match_secret_of_the_wrong_size_is_malformed() -> None:
    org = Org()
    with pytest.raises(Exception, match="match secret"):
        org.file(match_secret=b"short")


def test_enrolment_at_a_site_of_the_provisioning_makes_it_the_laptops_site(
    vault: Vault, settings: Settings
) -> None:
    """A provisioning of two sites gives the laptop the first; the server's enrolment at the
    second makes the laptop work there (the server counts its records there). A site the
    provisioning does not name leaves the laptop's site as it is."""
    from fieldscreen.device import VaultDeviceStore
    from fieldscreen.sync.store import DeviceIdentity

    apply_provisioning(vault, settings, Org().file())
    assert settings.get("site_id") == "tij1"
    store = VaultDeviceStore(vault, settings)
    public = vault.device_public_key
    store.save_identity(DeviceIdentity(vault.device_id, "main", "t0", public))
    assert Settings.load(settings.path).get("site_id") == "tij1"
    store.save_identity(DeviceIdentity(vault.device_id, "sd1", "t1", public))
    assert Settings.load(settings.path).get("site_id") == "sd1"
    assert form_context(stored_provisioning(vault), "sd1")["ctx_jurisdiction"] == "US"
