"""The provisioning kept in the vault is anchored in the roster the admin key signs: a
specialist with the laptop's files and their own passphrase (so the master key, and software of
their own) rewrites the vault's copy over seeded variants, and the product's own unlock path
refuses it, reports it in both languages, audits it and keeps the policies the admin approved
in force. Applied 0, silently accepted 0. A later provisioning the organisation signed (a sync's
update) is still followed without an admin."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.cli import main
from fieldscreen.device import (
    apply_provisioning,
    check_provisioning,
    open_settings,
    open_vault,
    stored_provisioning,
)
from fieldscreen.device_commands import report_edited_policies
from fieldscreen.errors import render
from fieldscreen.paths import Paths
from fieldscreen.sync.signed import Provisioning, SignedDocument, Site, sign_document
from fieldscreen.vault import Vault
from fieldscreen.vault.errors import VaultError
from tests.integration.server_support import new_profile

PASS = "correct horse battery"
SPEC = "specialist1"
POLICIES: dict[str, int | bool] = {
    "auto_lock_minutes": 3,
    "follow_up_window_days": 7,
    "clipboard_clear_seconds": 20,
    "travel_mode_allowed": False,
    "background_sync": False,
}
LOOSE: dict[str, int | bool] = {
    "auto_lock_minutes": 60,
    "follow_up_window_days": 90,
    "clipboard_clear_seconds": 300,
    "travel_mode_allowed": True,
    "background_sync": True,
}
ISSUED = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


class Org:
    """The organisation: its keys, and provisioning files signed with them."""

    def __init__(self) -> None:
        _, self.sealing = crypto.generate_sealing_keypair()
        self.private, self.public = crypto.generate_signing_keypair()
        _, self.receipt = crypto.generate_signing_keypair()

    def content(self, policies: dict[str, int | bool], *, public: bytes | None = None) -> bytes:
        return Provisioning(
            organisation="Org",
            server_url="https://sync.example.org",
            sealing_public_key=self.sealing,
            signing_public_key=public or self.public,
            receipt_public_key=self.receipt,
            sites=(Site("tij1", "Tijuana 1", "MX"),),
            policies=policies,
        ).to_content()

    def file(self, policies: dict[str, int | bool], *, days: int = 0) -> bytes:
        return sign_document(
            "provisioning",
            "provisioning",
            str(1000 + days),
            self.content(policies),
            self.private,
            self.public,
            issued=ISSUED + dt.timedelta(days=days),
        ).to_bytes()


@pytest.fixture
def org() -> Org:
    return Org()


@pytest.fixture
def profile(tmp_path: Path, org: Org) -> Path:
    root = new_profile(tmp_path, PASS)
    paths = Paths.for_profile(root)
    settings = open_settings(paths)
    with open_vault(paths, settings) as vault:
        vault.unlock("admin1", PASS.encode())
        vault.add_user(SPEC, PASS.encode(), "specialist", admin_passphrase=PASS.encode())
        apply_provisioning(vault, settings, org.file(POLICIES))
    return root


def _loose(rng: random.Random) -> dict[str, int | bool]:
    names = rng.sample(sorted(LOOSE), rng.randint(1, len(LOOSE)))
    return {**POLICIES, **{n: LOOSE[n] for n in names}}


def _attack(vault: Vault, org: Org, kind: str, rng: random.Random) -> None:
    """Rewrite the vault's copy as the specialist can: with the master key, through the
    vault's own write path (what software of their own would do)."""
    policies = _loose(rng)
    if kind == "content":  # the readable copy alone, looser
        vault.set_device_secret("sync.provisioning", org.content(policies))
    elif kind == "own-key":  # a file signed with a key of one's own, the pinned key swapped
        private, public = crypto.generate_signing_keypair()
        content = org.content(policies, public=public)
        forged = sign_document(
            "provisioning", "provisioning", "999", content, private, public,
            issued=ISSUED + dt.timedelta(days=rng.randint(1, 400)),
        )  # fmt: skip
        vault.set_device_secret("sync.provisioning.signed", forged.to_bytes())
        vault.set_device_secret("sync.provisioning", content)
    elif kind == "older":  # a genuine file the organisation issued before the approved one
        older = org.file(policies, days=-rng.randint(1, 300))
        vault.set_device_secret("sync.provisioning.signed", older)
        vault.set_device_secret("sync.provisioning", SignedDocument.from_bytes(older).content)
    elif kind == "mismatch":  # a genuine later file, the readable copy looser than it
        vault.set_device_secret("sync.provisioning.signed", org.file(POLICIES, days=5))
        vault.set_device_secret("sync.provisioning", org.content(policies))
    else:
        raise AssertionError(kind)


KINDS = ("content", "own-key", "older", "mismatch")


def test_a_rewritten_copy_is_refused_and_the_approved_policies_stay(
    profile: Path, org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.for_profile(profile)
    rng = random.Random(20261220)
    variants = 80 if os.environ.get("FIELDSCREEN_FULL") else 12
    applied = silently = reported = 0
    expected = {**POLICIES, "allow_plain_http": False}
    for n in range(variants):
        kind = KINDS[n % len(KINDS)]
        settings = open_settings(paths)
        with open_vault(paths, settings) as vault:
            vault.unlock(SPEC, PASS.encode())
            _attack(vault, org, kind, rng)
        settings = open_settings(paths)
        with open_vault(paths, settings) as vault:
            vault.unlock(SPEC if rng.random() < 0.5 else "admin1", PASS.encode())
            report_edited_policies(vault, settings)  # the product's unlock path
            applied += sum(settings.get(name) != value for name, value in POLICIES.items())
            applied += vault.follow_up_days != POLICIES["follow_up_window_days"]
            silently += stored_provisioning(vault) is not None
            assert settings.locked == {k: v for k, v in expected.items() if k in POLICIES}
        reported += "changed outside FieldScreen" in capsys.readouterr().err
    with open_vault(paths, open_settings(paths)) as vault:
        vault.unlock("admin1", PASS.encode())
        audited = sum(
            e.action == "settings-tampered" and (e.detail or {}).get("what") == "provisioning"
            for e in vault.audit_log()
        )
    print(
        f"rewritten provisioning: {variants} variants ({len(KINDS)} kinds), applied {applied}, "
        f"silently accepted {silently}, reported {reported}, audited {audited}"
    )
    assert applied == 0
    assert silently == 0
    assert reported == variants
    assert audited == variants


def test_a_later_file_the_organisation_signed_is_followed_without_an_admin(
    profile: Path, org: Org
) -> None:
    paths = Paths.for_profile(profile)
    later = {**POLICIES, "follow_up_window_days": 14}
    settings = open_settings(paths)
    with open_vault(paths, settings) as vault:
        vault.unlock(SPEC, PASS.encode())  # as a sync's update arrives
        apply_provisioning(vault, settings, org.file(later, days=3))
        check = check_provisioning(vault)
        assert (check.refused, check.newer) == (False, True)
        with pytest.raises(Exception, match="not the one an admin approved"):
            apply_provisioning(vault, settings, org.file(LOOSE, days=-3))
    settings = open_settings(paths)
    with open_vault(paths, settings) as vault:
        vault.unlock("admin1", PASS.encode())
        check = report_edited_policies_check(vault, settings)
        assert settings.get("follow_up_window_days") == 14
        assert check.newer  # the admin's unlock anchors it...
        assert vault.policy_anchor()["policies"]["follow_up_window_days"] == 14  # type: ignore[index]
    with open_vault(paths, open_settings(paths)) as vault:
        vault.unlock(SPEC, PASS.encode())
        assert not check_provisioning(vault).newer  # ...so it is now the anchored one


def report_edited_policies_check(vault: Vault, settings: Any) -> Any:
    from fieldscreen.device import enforce_locked_policies

    return enforce_locked_policies(vault, settings)


def test_a_specialist_cannot_anchor_and_an_edited_anchor_opens_nothing(
    profile: Path, org: Org
) -> None:
    paths = Paths.for_profile(profile)
    with open_vault(paths, open_settings(paths)) as vault:
        vault.unlock(SPEC, PASS.encode())
        with pytest.raises(VaultError) as caught:
            vault.set_policy_anchor({"policies": LOOSE})
        assert caught.value.code == "vault-not-allowed"
    raw = json.loads(paths.vault_dir.joinpath("vault.keys").read_text(encoding="utf-8"))
    raw["anchor"]["policies"]["follow_up_window_days"] = 90
    paths.vault_dir.joinpath("vault.keys").write_text(json.dumps(raw), encoding="utf-8")
    for login in (SPEC, "admin1"):
        with open_vault(paths, open_settings(paths)) as vault:
            with pytest.raises(VaultError) as caught:
                vault.unlock(login, PASS.encode())
            assert caught.value.code == "vault-roster-invalid"


def test_the_anchor_survives_a_key_rotation(profile: Path, org: Org) -> None:
    paths = Paths.for_profile(profile)
    with open_vault(paths, open_settings(paths)) as vault:
        vault.unlock("admin1", PASS.encode())
        anchor = vault.policy_anchor()
        vault.remove_user(SPEC, admin_passphrase=PASS.encode())
        assert vault.policy_anchor() == anchor
    with open_vault(paths, open_settings(paths)) as vault:
        vault.unlock("admin1", PASS.encode())
        assert vault.policy_anchor() == anchor
        assert not check_provisioning(vault).refused


def test_the_command_line_reports_a_rewritten_copy(
    profile: Path, org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.for_profile(profile)
    with open_vault(paths, open_settings(paths)) as vault:
        vault.unlock(SPEC, PASS.encode())
        vault.set_device_secret("sync.provisioning", org.content(LOOSE))
    passfile = str(profile.parent / "pass.txt")
    code = main(["--profile", str(profile), "sync", "--user", SPEC, "--passphrase-file", passfile])
    err = capsys.readouterr().err
    assert code != 0  # sync waits for an admin to apply the provisioning again
    assert "changed outside FieldScreen" in err
    assert open_settings(paths).get("follow_up_window_days") == 7


def test_the_refusal_exists_in_both_languages() -> None:
    assert "changed outside FieldScreen" in render("settings-provisioning-refused", "en")
    assert "fuera de FieldScreen" in render("settings-provisioning-refused", "es")
    assert "un administrador aprobó" in render("device-provisioning-not-newer", "es")
