"""The vault's commands: status --json, travel-mode, wipe (run in-process through main)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.cli import main
from fieldscreen.paths import Paths
from fieldscreen.vault import Vault
from tests.unit.vault.conftest import LOGIN, PASS


@pytest.fixture
def filled(tmp_path: Path, org: dict[str, bytes]) -> Paths:
    paths = Paths.for_profile(tmp_path / "p").ensure()
    v = Vault.create(
        paths.vault_dir, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    v.set_org_keys(org["sealing_public"], org["signing_public"])
    v.new_draft("f", "1", {"a": 1})
    done = v.new_draft("f", "1", {"b": 1})
    v.finalise(done, record={"b": 1}, case_card={})
    v.close()
    (paths.logs / "app.log").write_text("log line\n")
    return paths


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_json(filled: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--profile", str(filled.data.parent), "status", "--json")
    assert code == 0
    status = json.loads(out)
    assert status["drafts"] == 1
    assert status["finalised"] == 1
    assert status["pending"] == 1
    assert status["sealed"] == 1
    assert status["users"] == 1


def test_travel_mode_with_a_passphrase_file(
    filled: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n")
    profile = str(filled.data.parent)
    code, out, err = _run(
        capsys, "--profile", profile, "travel-mode", "--passphrase-file", str(wrong)
    )
    assert code == 1
    assert err.count("\n") == 1
    assert "Traceback" not in err
    good = tmp_path / "good.txt"
    good.write_text(PASS.decode() + "\n")
    code, out, _ = _run(
        capsys, "--profile", profile, "travel-mode", "--passphrase-file", str(good), "--json"
    )
    assert code == 0
    assert json.loads(out) == {"drafts_sealed": 1, "finalised_purged": 1, "case_cards_purged": 1}
    code, out, _ = _run(capsys, "--profile", profile, "status", "--json")
    status = json.loads(out)
    assert (status["drafts"], status["finalised"], status["purged"]) == (0, 0, 2)


def test_wipe_needs_yes_then_destroys(filled: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    profile = str(filled.data.parent)
    code, _, err = _run(capsys, "--profile", profile, "wipe")
    assert code == 1
    assert "--yes" in err
    assert (filled.vault_dir / "vault.keys").exists()
    code, out, _ = _run(capsys, "--profile", profile, "wipe", "--yes", "--json")
    assert code == 0
    assert json.loads(out)["files_destroyed"] >= 3
    assert not (filled.vault_dir / "vault.keys").exists()
    assert not list(filled.logs.iterdir())
    code, out, _ = _run(capsys, "--profile", profile, "status", "--json")
    assert json.loads(out) == {"vault": "absent"}


@pytest.fixture
def light_default_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """``init`` uses the production Argon2id cost; the tests swap in the light one."""
    monkeypatch.setattr(crypto.KdfParams, "default", classmethod(lambda cls: cls.for_tests()))


@pytest.mark.usefixtures("light_default_kdf")
def test_init_creates_the_vault_and_its_first_admin_from_a_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "laptop"
    secret = tmp_path / "admin.txt"
    secret.write_text("a long admin passphrase\n")
    code, out, err = _run(
        capsys, "--profile", str(profile), "init", "--admin", "it-admin",
        "--passphrase-file", str(secret), "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["vault"] == "created"
    assert summary["admin"] == "it-admin"
    vault_dir = Paths.for_profile(profile).vault_dir
    with Vault.open(vault_dir) as vault:
        assert vault.unlock("it-admin", b"a long admin passphrase").role == "admin"
        assert vault.device_id == summary["device_id"]
        assert vault.vault_id == summary["vault_id"]
    before = {p.name: p.read_bytes() for p in vault_dir.iterdir() if p.is_file()}
    code, out, err = _run(
        capsys, "--profile", str(profile), "init", "--admin", "other",
        "--passphrase-file", str(secret),
    )  # fmt: skip
    assert code == 1
    assert "already exists" in err
    assert err.count("\n") == 1
    assert (vault_dir / "vault.keys").read_bytes() == before["vault.keys"]
    code, _, err = _run(
        capsys, "--lang", "es", "--profile", str(profile), "init", "--admin", "x",
        "--passphrase-file", str(secret),
    )  # fmt: skip
    assert code == 1
    assert "Ya existe una bóveda" in err


@pytest.mark.usefixtures("light_default_kdf")
def test_init_refuses_a_short_passphrase_a_bad_login_and_a_mistyped_confirmation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "laptop"
    vault_dir = Paths.for_profile(profile).vault_dir
    short = tmp_path / "short.txt"
    short.write_text("short\n")
    code, _, err = _run(
        capsys, "--profile", str(profile), "init", "--admin", "a", "--passphrase-file", str(short)
    )
    assert code == 1
    assert "Traceback" not in err
    assert err.count("\n") == 1
    good = tmp_path / "good.txt"
    good.write_text("a long admin passphrase\n")
    code, _, err = _run(
        capsys, "--profile", str(profile), "init", "--admin", "not a login!",
        "--passphrase-file", str(good),
    )  # fmt: skip
    assert code == 1
    assert err.count("\n") == 1
    answers = iter(["a long admin passphrase", "a long admin passphrasE"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = _run(capsys, "--profile", str(profile), "init", "--admin", "a")
    assert code == 1
    assert "differ" in err
    assert not Vault.exists(vault_dir)
    answers = iter(["a long admin passphrase", "a long admin passphrase"])
    code, out, err = _run(capsys, "--profile", str(profile), "init", "--admin", "a")
    assert code == 0, err
    assert "Vault created" in out


def test_rotate_keys_from_the_command_line(
    filled: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = str(filled.data.parent)
    old_copy = (filled.vault_dir / "vault.keys").read_bytes()
    secret = tmp_path / "pass.txt"
    secret.write_text(PASS.decode() + "\n")
    code, out, err = _run(
        capsys, "--profile", profile, "rotate-keys", "--passphrase-file", str(secret), "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["generation"] == 2
    assert summary["unreadable"] == 0
    assert summary["must_be_added_again"] == []
    (filled.vault_dir / "vault.keys").write_bytes(old_copy)
    code, _, err = _run(
        capsys, "--profile", profile, "travel-mode", "--passphrase-file", str(secret)
    )
    assert code == 1
    assert "old copy" in err


def test_status_check_runs_the_integrity_check_and_fails_on_a_deleted_audit_row(
    filled: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    secret = tmp_path / "pass.txt"
    secret.write_text(PASS.decode() + "\n")
    profile = str(filled.data.parent)
    args = ("--profile", profile, "status", "--check", "--passphrase-file", str(secret))
    code, out, _ = _run(capsys, *args)
    assert code == 0, out
    assert "integrity: ok" in out
    raw = sqlite3.connect(filled.vault_dir / "vault.sqlite3", isolation_level=None)
    newest = raw.execute("SELECT max(seq) FROM audit").fetchone()[0]
    raw.execute("DELETE FROM audit WHERE seq >= ?", (newest - 1,))  # the newest two entries
    raw.close()
    code, out, err = _run(capsys, *args, "--json")
    assert code == 1
    assert "Traceback" not in err
    report = json.loads(out)["integrity"]
    assert report["ok"] is False
    assert report["audit_intact"] is False
    code, out, _ = _run(capsys, *args)
    assert code == 1
    assert "integrity: FAILED" in out
    assert "changed outside FieldScreen" in out
