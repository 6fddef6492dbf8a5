"""Vault fixtures: light Argon2id parameters (explicitly permitted), a vault with org keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.vault import Vault

PASS = b"correct horse battery"
LOGIN = "admin1"


@pytest.fixture(autouse=True)
def light_kdf() -> Iterator[None]:
    crypto.permit_test_parameters(True)
    yield
    crypto.permit_test_parameters(False)


@pytest.fixture
def org() -> dict[str, bytes]:
    sealing_private, sealing_public = crypto.generate_sealing_keypair()
    _signing_private, signing_public = crypto.generate_signing_keypair()
    return {
        "sealing_private": sealing_private,
        "sealing_public": sealing_public,
        "signing_public": signing_public,
    }


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    return tmp_path / "profile" / "data"


@pytest.fixture
def vault(vault_dir: Path, org: dict[str, bytes]) -> Iterator[Vault]:
    v = Vault.create(
        vault_dir, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    v.set_org_keys(org["sealing_public"], org["signing_public"])
    yield v
    v.close()
