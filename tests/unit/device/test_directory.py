"""The site's service directory on the real vault: the right site's providers, the sample ones
only for demo sites, and every bad directory (tampered, malformed, another site's, older)
refused with the previous one still in use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.device import (
    VaultDeviceStore,
    apply_provisioning,
    import_directory_file,
    site_directory,
)
from fieldscreen.directory import ServiceDirectory, sample_directory
from fieldscreen.errors import KnownError
from fieldscreen.paths import resource_path
from fieldscreen.settings import Settings
from fieldscreen.sync.signed import sign_document
from fieldscreen.vault import Vault
from tests.unit.device.test_provisioning import PASS, Org

SAMPLES = sorted(resource_path("samples").glob("service-directory-*.json"))


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads(resource_path("samples", f"service-directory-{name}.json").read_text()))


def as_org(data: dict[str, Any], site: str, version: str = "2026-11-27") -> dict[str, Any]:
    """A sample turned into an organisation's directory for ``site``."""
    out = json.loads(json.dumps(data))
    out["sample_data"] = False
    out["site"]["id"] = site
    out["version"] = version
    return dict(out)


def signed(org: Org, data: dict[str, Any], name: str = "dir-a", version: str = "1") -> bytes:
    content = json.dumps(data).encode()
    return sign_document(
        "directory", name, version, content, org.signing_private, org.signing_public
    ).to_bytes()


@pytest.fixture
def org() -> Org:
    return Org()


@pytest.fixture
def device(tmp_path: Path, org: Org) -> Iterator[tuple[Vault, Settings]]:
    crypto.permit_test_parameters(True)
    vault = Vault.create(
        tmp_path / "data", admin_login="admin1", passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.unlock("admin1", PASS)
    settings = Settings.load(tmp_path / "settings.json")
    apply_provisioning(vault, settings, org.file())
    yield vault, settings
    vault.close()
    crypto.permit_test_parameters(False)


def test_every_sample_is_a_valid_sample_directory() -> None:
    assert len(SAMPLES) == 5
    for path in SAMPLES:
        directory = ServiceDirectory.from_content(path.read_bytes(), "sample", path.name)
        assert directory.sample
        assert directory.providers
        assert sample_directory(directory.site_id) == directory
    assert sample_directory("tij1") is None  # a real site never gets sample providers


def test_site_a_and_site_b_get_their_own_providers(
    device: tuple[Vault, Settings], org: Org
) -> None:
    vault, settings = device
    assert settings.get("site_id") == "tij1"
    assert site_directory(vault, settings) is None  # nothing yet: the app says so
    import_directory_file(vault, settings, signed(org, as_org(sample("mx"), "tij1")), "a.json")
    settings.values["site_id"] = "sd1"
    import_directory_file(
        vault, settings, signed(org, as_org(sample("us"), "sd1"), "dir-b"), "b.json"
    )
    a = site_directory(vault, Settings(settings.path, {**settings.values, "site_id": "tij1"}))
    b = site_directory(vault, settings)
    assert a is not None
    assert b is not None
    assert (a.site_id, b.site_id) == ("tij1", "sd1")
    assert not a.sample
    assert not b.sample
    pfa_a = {(p.id, p.phone) for p in a.providers_for("pfa")}
    pfa_b = {(p.id, p.phone) for p in b.providers_for("pfa")}
    assert pfa_a
    assert pfa_b
    assert pfa_a.isdisjoint(pfa_b)
    raw = (vault.folder / "vault.sqlite3").read_bytes()
    assert next(iter(pfa_a))[0].encode() not in raw  # kept encrypted


@pytest.mark.parametrize("fault", ["tampered", "other-key", "malformed", "other-site", "older"])
def test_a_bad_directory_is_refused_and_the_previous_stays(
    device: tuple[Vault, Settings], org: Org, fault: str
) -> None:
    vault, settings = device
    good = as_org(sample("mx"), "tij1", "2026-11-27")
    import_directory_file(vault, settings, signed(org, good), "good.json")
    before = site_directory(vault, settings)
    newer = as_org(sample("gt"), "tij1", "2026-12-01")
    data = signed(org, newer)
    expected = "sync-bad-signature"
    if fault == "tampered":
        document = json.loads(data)
        content = json.loads(__import__("base64").b64decode(document["content"]))
        content["services"][0]["contact"]["phone"] = "+1 555 0100"  # a redirected hotline
        document["content"] = __import__("base64").b64encode(json.dumps(content).encode())
        data = json.dumps({**document, "content": document["content"].decode()}).encode()
    elif fault == "other-key":
        data = signed(Org(), newer)
    elif fault == "malformed":
        newer["services"][0]["provider_kind"] = "unknown"
        data, expected = signed(org, newer), "directory-invalid"
    elif fault == "other-site":
        data, expected = signed(org, as_org(sample("gt"), "sd1")), "directory-other-site"
    else:
        data = signed(org, as_org(sample("gt"), "tij1", "2026-01-01"))
        expected = "directory-invalid"
    with pytest.raises(KnownError) as caught:
        import_directory_file(vault, settings, data, "new.json")
    assert caught.value.code == expected
    assert caught.value.message("es") != caught.value.message("en")
    assert site_directory(vault, settings) == before


def test_a_malformed_directory_from_sync_is_not_kept(
    device: tuple[Vault, Settings], org: Org
) -> None:
    from fieldscreen.sync.signed import SignedDocument

    vault, settings = device
    store = VaultDeviceStore(vault, settings)
    good = as_org(sample("mx"), "tij1")
    store.apply_update(SignedDocument.from_bytes(signed(org, good, version="1")))
    before = site_directory(vault, settings)
    bad = dict(good, services="none")
    with pytest.raises(KnownError) as caught:
        store.apply_update(SignedDocument.from_bytes(signed(org, bad, version="2")))
    assert caught.value.code == "directory-invalid"
    assert store.update_versions()[("directory", "dir-a")] == "1"
    assert site_directory(vault, settings) == before
