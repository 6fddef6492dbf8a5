"""The duress passphrase: typed at unlock (by someone made to open the laptop), it opens an
empty-looking vault and seals the real one for the team. Afterwards nothing of the real records
is readable with the laptop's keys (canaries found 0), and the team's export still receives
every one of them (lost 0). Rotation carries it; the unlock does the same work either way."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.device import open_settings, open_vault, wire_signing
from fieldscreen.forms.library import builtin_forms
from fieldscreen.paths import Paths
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimOrg
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from tests.integration.export_support import answer, screening_record
from tests.integration.server_support import new_profile
from tests.integration.test_travel_mode import CANARY, PASS, _cli, _drafts, _export, _set_up

DURESS = "the sky is green today"
SPEC = "spec1"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return new_profile(tmp_path, PASS)


def _set_duress(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    duress_file = profile.parent / "duress.txt"
    duress_file.write_text(DURESS + "\n", encoding="utf-8")
    out = _cli(
        profile,
        "duress-passphrase",
        "--user",
        "admin1",
        "--duress-file",
        str(duress_file),
        capsys=capsys,
    )
    assert out == {"duress_passphrase": "set"}


def _finalise(profile: Path, count: int) -> list[str]:
    paths = Paths.for_profile(profile)
    ids = []
    with open_vault(paths, open_settings(paths)) as vault:
        vault.unlock("admin1", PASS.encode())
        wire_signing(vault)
        vault.add_user(SPEC, PASS.encode() + b"2", "specialist", admin_passphrase=PASS.encode())
        forms = builtin_forms()
        rng = random.Random(3)
        for n in range(count):
            consent = answer(forms["fs_consent"], rng, f"r{n}")
            sessions = {"fs_consent": consent}
            for form_id in sorted(forms):
                if form_id != "fs_consent":
                    sessions[form_id] = answer(forms[form_id], rng, f"r{n}", consent.values_json())
            record = vault.new_draft("screening", "builtin", {"n": n})
            vault.finalise(
                record,
                record=screening_record(sessions, f"{CANARY}-actions-{n}"),
                case_card={"alias": f"{CANARY}-{n}", "tier": "act-now"},
            )
            ids.append(record)
    return ids


def _readable_canaries(vault: Vault, db: Path) -> int:
    """What the session (with the laptop's keys) can still read of the real records."""
    hits = 0
    for record in vault.list_records():  # every row left, read through the product's path
        with contextlib.suppress(VaultError):  # sealed or purged: nothing to read
            hits += CANARY in json.dumps(vault.load_record(record.record_id))
    hits += sum(CANARY in json.dumps(card) for card in vault.case_cards().values())
    for suffix in ("", "-wal"):
        path = Path(str(db) + suffix)
        if path.exists():
            hits += CANARY.encode() in path.read_bytes()
    return hits


def test_the_duress_passphrase_opens_an_empty_vault_and_the_team_still_gets_everything(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _set_up(profile, tmp_path, org, storage, server.url, capsys)
    drafts = _drafts(profile, 3, random.Random(7))
    finalised = _finalise(profile, 2)
    _set_duress(profile, capsys)
    paths = Paths.for_profile(profile)
    with open_vault(paths, open_settings(paths)) as vault:
        user = vault.unlock(SPEC, DURESS.encode())  # with any login
        assert vault.duress
        assert user.role == "specialist"
        assert vault.list_records("draft") == []
        assert vault.list_records("finalised") == []
        rows = vault.case_list()  # what is left: ids of sealed records, nothing to read
        assert {(r.status, r.carded, r.alias) for r in rows} == {("purged", False, None)}
        assert _readable_canaries(vault, paths.vault_dir / "vault.sqlite3") == 0
        with pytest.raises(VaultError):
            vault.audit_log()  # the session is a specialist's, whoever's login was typed
    out = _cli(profile, "sync", "--user", "admin1", capsys=capsys)
    assert out["delivered"] == len(drafts) + len(finalised), out  # the audit segment apart
    assert out["audit_envelopes"] == 1, out
    kinds, problems = _export(storage, org)
    assert problems.total == 0, problems.to_json()
    assert kinds == {**dict.fromkeys(drafts, "draft"), **dict.fromkeys(finalised, "screening")}
    with open_vault(paths, open_settings(paths)) as vault:
        vault.unlock("admin1", PASS.encode())  # the real passphrase still opens it
        assert not vault.duress
        travel = [e for e in vault.audit_log() if e.action == "travel-mode"]
        assert travel
        assert travel[-1].detail["drafts_sealed"] == len(drafts)


def test_rotation_carries_the_duress_passphrase_and_clearing_removes_it(
    profile: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _set_duress(profile, capsys)
    _cli(profile, "rotate-keys", capsys=capsys)
    paths = Paths.for_profile(profile)
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", DURESS.encode())
        assert vault.duress  # re-sealed to the new keys
    _cli(profile, "duress-passphrase", "--clear", capsys=capsys)
    with Vault.open(paths.vault_dir) as vault, pytest.raises(UnlockFailed):
        vault.unlock("admin1", DURESS.encode())
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode(), duress=False)
        with pytest.raises(VaultError) as caught:
            vault.set_duress_passphrase(PASS.encode(), admin_passphrase=PASS.encode())
        assert caught.value.code == "vault-duress-is-a-passphrase"


def test_an_unlock_does_the_same_work_whichever_passphrase(
    profile: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every unlock derives both credentials' keys, whatever was typed (the timing caveat)."""
    paths = Paths.for_profile(profile)
    derived: list[int] = []
    real = crypto.derive_key

    def counting(passphrase: bytes, params: crypto.KdfParams) -> bytes:
        derived.append(1)
        return real(passphrase, params)

    monkeypatch.setattr(crypto, "derive_key", counting)  # the module the vault calls through
    counts = {}
    for name, passphrase in (("real", PASS), ("duress", DURESS), ("wrong", "not it at all")):
        derived.clear()
        with Vault.open(paths.vault_dir) as vault, contextlib.suppress(UnlockFailed):
            vault.unlock("admin1", passphrase.encode())
        counts[name] = len(derived)
    assert counts == {"real": 2, "duress": 2, "wrong": 2}  # the inert entry costs the same
    keys = json.loads((paths.vault_dir / "vault.keys").read_text(encoding="utf-8"))
    assert set(keys["duress"]) >= {"public", "wrapped_private", "sealed_master", "kdf"}
    assert capsys.readouterr().err == ""
