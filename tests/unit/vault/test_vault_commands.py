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
