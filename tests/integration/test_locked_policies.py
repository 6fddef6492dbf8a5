"""Locked policies come from the organisation's signed provisioning kept in the vault, never
from the editable ``settings.json``: someone with the laptop's files edits every locked key over
seeded variants, and the product's own unlock path puts the organisation's values back, reports
the edit in both languages and audits it. Applied 0."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.cli import main
from fieldscreen.device import apply_provisioning, open_settings, open_vault
from fieldscreen.device_commands import report_edited_policies
from fieldscreen.errors import render
from fieldscreen.paths import Paths
from fieldscreen.settings import SETTINGS
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from tests.integration.server_support import new_profile

PASS = "correct horse battery"
#: What the organisation locks (every lockable setting; plain http allowed for a test network).
POLICIES: dict[str, int | bool] = {
    "auto_lock_minutes": 3,
    "follow_up_window_days": 7,
    "clipboard_clear_seconds": 20,
    "travel_mode_allowed": False,
    "background_sync": False,
}
LOCKED = {**POLICIES, "allow_plain_http": True}


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def _provisioning() -> bytes:
    _, sealing_public = crypto.generate_sealing_keypair()
    signing_private, signing_public = crypto.generate_signing_keypair()
    _, receipt_public = crypto.generate_signing_keypair()
    content = Provisioning(
        organisation="Org",
        server_url="http://127.0.0.1:9",
        sealing_public_key=sealing_public,
        signing_public_key=signing_public,
        receipt_public_key=receipt_public,
        sites=(Site("tij1", "Tijuana 1", "MX"),),
        allow_insecure_http=True,
        policies=POLICIES,
    ).to_content()
    return sign_document(
        "provisioning", "provisioning", "1", content, signing_private, signing_public
    ).to_bytes()


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    root = new_profile(tmp_path, PASS)
    paths = Paths.for_profile(root)
    settings = open_settings(paths)
    with open_vault(paths, settings) as vault:
        vault.unlock("admin1", PASS.encode())
        apply_provisioning(vault, settings, _provisioning())
    return root


def _attacker_value(name: str, rng: random.Random) -> Any:
    """A value the organisation did not choose, as loose as the setting allows."""
    spec = next(s for s in SETTINGS if s.name == name)
    if spec.type is bool:
        return not LOCKED[name]
    assert spec.minimum is not None
    assert spec.maximum is not None
    choices = (spec.minimum, spec.maximum, rng.randint(spec.minimum, spec.maximum))
    return rng.choice([v for v in choices if v != LOCKED[name]] or [spec.maximum])


def _edit(path: Path, rng: random.Random) -> list[str]:
    """Edit ``settings.json`` as someone with the laptop would; the locked names touched."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    locked, values = raw.setdefault("locked", {}), raw.setdefault("values", {})
    touched = rng.sample(sorted(LOCKED), rng.randint(1, len(LOCKED)))
    for name in touched:
        how = rng.choice(("change", "remove", "to values"))
        value = _attacker_value(name, rng)
        if how == "change":
            locked[name] = value
        else:
            locked.pop(name, None)
            if how == "to values":
                values[name] = value
    if rng.random() < 0.1:
        raw["locked"] = {}
    path.write_text(json.dumps(raw), encoding="utf-8")
    return touched


def test_every_edit_of_a_locked_key_is_undone_and_reported(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.for_profile(profile)
    rng = random.Random(20261215)
    variants = 200 if os.environ.get("FIELDSCREEN_FULL") else 30
    applied = reported = audited = 0
    for _ in range(variants):
        _edit(paths.settings_file, rng)
        settings = open_settings(paths)  # what the app and every command read first
        with open_vault(paths, settings) as vault:
            vault.unlock("admin1", PASS.encode())
            before = len([e for e in vault.audit_log() if e.action == "settings-tampered"])
            report_edited_policies(vault, settings)  # the product's unlock path
            after = [e for e in vault.audit_log() if e.action == "settings-tampered"]
            audited += len(after) - before
            applied += sum(settings.get(n) != v for n, v in LOCKED.items())
            applied += vault.follow_up_days != LOCKED["follow_up_window_days"]
        err = capsys.readouterr().err
        reported += "organisation locks" in err
        reread = open_settings(paths)  # the file itself is put back
        applied += sum(reread.get(n) != v for n, v in LOCKED.items())
    print(f"edited settings: {variants} variants, applied {applied}, reported {reported}")
    assert applied == 0
    assert reported == variants
    assert audited == variants


def test_an_edited_file_cannot_unlock_travel_mode(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.for_profile(profile)
    raw = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    raw["locked"].pop("travel_mode_allowed")
    raw["locked"]["follow_up_window_days"] = 90
    paths.settings_file.write_text(json.dumps(raw), encoding="utf-8")
    passfile = str(profile.parent / "pass.txt")
    code = main(["--profile", str(profile), "travel-mode", "--passphrase-file", passfile])
    err = capsys.readouterr().err
    assert code == 1
    assert "follow_up_window_days, travel_mode_allowed" in err
    assert open_settings(paths).get("travel_mode_allowed") is False


def test_the_report_exists_in_both_languages() -> None:
    for lang, words in (("en", "organisation locks"), ("es", "la organización bloquea")):
        assert words in render("settings-locked-restored", lang, names="x")


def test_an_untouched_file_has_nothing_to_report(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.for_profile(profile)
    settings = open_settings(paths)
    with open_vault(paths, settings) as vault:
        vault.unlock("admin1", PASS.encode())
        report_edited_policies(vault, settings)
        assert not [e for e in vault.audit_log() if e.action == "settings-tampered"]
    assert capsys.readouterr().err == ""
    assert settings.locked == LOCKED
