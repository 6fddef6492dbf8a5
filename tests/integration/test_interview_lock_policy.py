"""The organisation's interview-in-progress idle lock, from ``fieldscreen-server provision-file
--interview-lock-minutes`` to a laptop's locked setting that the app's idle lock follows."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.device import open_settings
from fieldscreen.paths import Paths
from fieldscreen.sync.signed import Provisioning, SignedDocument
from tests.integration.server_support import open_storage
from tests.integration.test_cli_end_to_end import device, server

pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The arguments provision-file needs, for one organisation made for this file's tests
    (its keys cost seconds to make)."""
    from fieldscreen.sync.server.cli import main as server_main

    folder = tmp_path_factory.mktemp("org")
    db, keys, passfile = folder / "server.sqlite3", folder / "org-keys", folder / "pass"
    passfile.write_text("correct horse battery staple\n")
    pf = ["--passphrase-file", str(passfile)]
    with crypto.permitting_test_parameters():
        assert server_main(["init-org", "--db", str(db), "--out", str(keys), *pf]) == 0
    open_storage(str(db)).close()  # the server's receipt key, which provision-file reads
    return [
        "provision-file",
        "--db",
        str(db),
        "--key",
        str(keys / "signing-private.json"),
        "--server-url",
        "https://fieldscreen.example.org",
        "--site",
        "tij1:Tijuana 1:MX",
        *pf,
    ]


def test_the_interview_lock_is_the_organisations_policy_on_every_laptop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], org: list[str]
) -> None:
    prov = tmp_path / "provisioning.fsp"
    code, _, err = server(
        capsys,
        *org,
        "--out",
        str(prov),
        "--auto-lock-minutes",
        "5",
        "--interview-lock-minutes",
        "20",
    )
    assert code == 0, err
    signed = Provisioning.from_content(SignedDocument.from_bytes(prov.read_bytes()).content)
    assert signed.policies == {"auto_lock_minutes": 5, "interview_lock_minutes": 20}

    laptop = tmp_path / "laptop"
    code, _, err = device(capsys, laptop, "provision", str(prov))
    assert code == 0, err
    settings = open_settings(Paths.for_profile(laptop))
    assert settings.get("interview_lock_minutes") == 20
    assert settings.is_locked("interview_lock_minutes")
    assert settings.get("auto_lock_minutes") == 5


def test_without_the_flag_the_interview_lock_stays_the_laptops_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], org: list[str]
) -> None:
    prov = tmp_path / "provisioning.fsp"
    assert server(capsys, *org, "--out", str(prov), "--auto-lock-minutes", "5")[0] == 0
    laptop = tmp_path / "laptop"
    assert device(capsys, laptop, "provision", str(prov))[0] == 0
    assert not open_settings(Paths.for_profile(laptop)).is_locked("interview_lock_minutes")


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--interview-lock-minutes", "0"], "between 1 and 60 minutes"),
        (["--interview-lock-minutes", "61"], "between 1 and 60 minutes"),
        (
            ["--auto-lock-minutes", "10", "--interview-lock-minutes", "5"],
            "shorter than --auto-lock-minutes (10)",
        ),
    ],
)
def test_a_lock_every_laptop_would_refuse_is_refused_before_it_is_signed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], org: list[str], extra: list[str], said: str
) -> None:
    prov = tmp_path / "provisioning.fsp"
    code, _, err = server(capsys, *org, "--out", str(prov), *extra)
    assert code == 1
    assert said in err
    assert "Traceback" not in err
    assert not prov.exists()
