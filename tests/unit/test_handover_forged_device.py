"""A handover packet from a device the organisation never vouched for: anyone who knows a
partner's public keys (they are in the published directory) can seal to it and sign with a key
of their own. The partner checks the packet's device against the service directory the packet
carries, signed by the organisation's key the partner holds, so each of these is refused by
name (``handover-device-unknown``), in English and in Spanish, and nothing is written: 0 of N
forged packets accepted. A genuine device's packet still opens."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto, partner_cli
from fieldscreen.directory import Partner
from fieldscreen.errors import DeviceError
from fieldscreen.handover import open_packet, packet_content, seal_packet
from fieldscreen.sync.canonical import b64e, canonical
from fieldscreen.sync.signed import sign_document
from tests.support.vouching import ORG, directory_document, seal_vouched

SEALING = crypto.generate_sealing_keypair()
SIGNING = crypto.generate_signing_keypair()
DEVICE = crypto.generate_signing_keypair()  # the organisation's laptop dev1
FORGER = crypto.generate_signing_keypair()
OTHER_ORG = crypto.generate_signing_keypair()
PARTNER = Partner("p1", {"en": "P"}, "legal", "en", "", SEALING[1], SIGNING[1])
RECORD = {"forms": {"fs_consent": {"share_legal": "yes"}}, "risk": {}}
CARD = {"tier": "T1", "concerns": [], "protection_status": "separated"}


def _content() -> dict[str, Any]:
    return packet_content(RECORD, CARD, PARTNER, "c" * 32, site="tij1")


def _sign(keys: tuple[bytes, bytes]) -> Callable[[bytes], bytes]:
    return lambda m: crypto.sign(keys[0], m)


def _genuine_directory() -> bytes:
    return directory_document([("dev1", DEVICE[1])])


def _provisioning_as_directory() -> bytes:
    """A document the organisation signed, but not a directory (its kind says so)."""
    body = canonical({"devices": [{"id": "dev1", "ed25519": "x"}]})
    return sign_document("provisioning", "provisioning", "1", body, *ORG).to_bytes()


#: How a forger makes a packet, each with a key the organisation never listed.
FORGERIES: dict[str, Callable[[], bytes]] = {
    "no directory at all": lambda: seal_packet(
        _content(), PARTNER, "dev1", FORGER[1], _sign(FORGER), b""
    ),
    "a directory that is not a signed document": lambda: seal_packet(
        _content(), PARTNER, "dev1", FORGER[1], _sign(FORGER), b'{"devices": []}'
    ),
    "its own organisation's directory listing it": lambda: seal_vouched(
        _content(), PARTNER, "dev1", FORGER, org=OTHER_ORG
    ),
    "the genuine directory, the listed device's id, its own key": lambda: seal_packet(
        _content(), PARTNER, "dev1", FORGER[1], _sign(FORGER), _genuine_directory()
    ),
    "the genuine directory, a device id it does not list": lambda: seal_packet(
        _content(), PARTNER, "dev9", FORGER[1], _sign(FORGER), _genuine_directory()
    ),
    "the genuine directory, the genuine key in the header, signed with its own": lambda: (
        seal_packet(_content(), PARTNER, "dev1", DEVICE[1], _sign(FORGER), _genuine_directory())
    ),
    "the genuine directory's bytes changed to list its key": lambda: seal_packet(
        _content(),
        PARTNER,
        "dev1",
        FORGER[1],
        _sign(FORGER),
        _genuine_directory().replace(b'"version":"2"', b'"version":"3"'),
    ),
    "another document of the organisation as the directory": lambda: seal_packet(
        _content(), PARTNER, "dev1", FORGER[1], _sign(FORGER), _provisioning_as_directory()
    ),
}


@pytest.mark.parametrize("how", sorted(FORGERIES))
def test_a_packet_signed_by_a_key_the_organisation_never_listed_is_refused(how: str) -> None:
    with pytest.raises(DeviceError) as refused:
        open_packet(FORGERIES[how](), "p.json", "p1", SEALING[0], ORG[1])
    assert refused.value.code in {"handover-device-unknown", "handover-packet-tampered"}
    if "header, signed with its own" not in how:
        assert refused.value.code == "handover-device-unknown", how


def test_a_genuine_devices_packet_opens_and_names_the_directory() -> None:
    packet = seal_packet(
        _content(), PARTNER, "dev1", DEVICE[1], _sign(DEVICE), _genuine_directory()
    )
    content, _ = open_packet(packet, "p.json", "p1", SEALING[0], ORG[1])
    assert (content["device_id"], content["directory_version"]) == ("dev1", "2")
    assert "directory" not in content  # the partner's summary holds no copy of it
    with pytest.raises(DeviceError) as refused:  # another organisation's key: not ours
        open_packet(packet, "p.json", "p1", SEALING[0], OTHER_ORG[1])
    assert refused.value.code == "handover-device-unknown"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_partners_command_refuses_every_forgery_by_name_in_both_languages(
    lang: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partner_cli, "_key", lambda _p, _a: ("p1", SEALING[0], SIGNING[0], ORG[1]))
    words = {
        "en": "that the organisation does not list with that key",
        "es": "que la organización no reconoce con esa clave",
    }[lang]
    accepted = refused = 0
    for i, how in enumerate(sorted(FORGERIES)):
        packet = tmp_path / f"in{i}.json"
        packet.write_bytes(FORGERIES[how]())
        out = tmp_path / f"out{i}"
        code = partner_cli.main(
            ["--lang", lang, "open", str(packet), "--key", str(tmp_path / "k"), "--out", str(out)]
        )
        err = capsys.readouterr().err
        accepted += code == 0
        if code == 1 and (words in err or "header, signed with its own" in how):
            refused += 1
        assert not out.exists(), how
    assert accepted == 0
    assert refused == len(FORGERIES)
    print(f"\nforged packets ({lang}): {len(FORGERIES)}, accepted {accepted}, refused {refused}")


def test_a_key_file_without_the_organisations_key_asks_for_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key file made before keygen kept the organisation's key opens nothing until
    ``--org-key`` names it; a different key than the one kept is refused."""
    monkeypatch.setattr(partner_cli, "kdf_params", crypto.KdfParams.for_tests)
    crypto.permit_test_parameters(True)
    try:
        passfile = tmp_path / "pass.txt"
        passfile.write_text("partner passphrase 7\n", encoding="utf-8")
        common = ["--passphrase-file", str(passfile)]
        old, pinned = tmp_path / "old.key", tmp_path / "pinned.key"
        org_file = tmp_path / "organisation-public.json"
        other_file = tmp_path / "other-public.json"
        for path, key in ((org_file, ORG[1]), (other_file, OTHER_ORG[1])):
            path.write_text(
                json.dumps({"signing_public_key": b64e(key)}),
                encoding="utf-8",
            )
        assert partner_cli.main(["keygen", "--partner", "p1", "--out", str(old), *common]) == 0
        assert (
            partner_cli.main(
                [
                    "keygen",
                    "--partner",
                    "p1",
                    "--out",
                    str(pinned),
                    "--org-key",
                    str(org_file),
                    *common,
                ]
            )
            == 0
        )
        capsys.readouterr()
        packet = tmp_path / "packet.json"
        packet.write_bytes(b"{}")
        code = partner_cli.main(["open", str(packet), "--key", str(old), *common])
        assert code == 1
        assert "does not hold the organisation's public key" in capsys.readouterr().err
        code = partner_cli.main(
            [
                "--lang",
                "es",
                "open",
                str(packet),
                "--key",
                str(pinned),
                "--org-key",
                str(other_file),
                *common,
            ]
        )
        assert code == 1
        assert "no es el archivo de clave pública" in capsys.readouterr().err
    finally:
        crypto.permit_test_parameters(False)


def test_a_laptop_a_newer_directory_dropped_is_refused_once_the_partner_has_seen_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revoked laptop keeps the directory that listed it. Once the partner has checked a
    packet against a newer directory of that site (from any of the organisation's laptops),
    kept beside its key file, a packet carrying the older directory from a laptop the newer
    one dropped is refused by name in both languages; one from a laptop still listed opens."""
    other = crypto.generate_signing_keypair()
    old = directory_document([("dev1", DEVICE[1]), ("dev2", other[1])], version="2")
    new = directory_document([("dev2", other[1])], version="3")  # dev1 revoked since

    def packet(device: str, keys: tuple[bytes, bytes], directory: bytes) -> bytes:
        return seal_packet(_content(), PARTNER, device, keys[1], _sign(keys), directory)

    key_file = tmp_path / "partner.key"
    monkeypatch.setattr(partner_cli, "_key", lambda _p, _a: ("p1", SEALING[0], SIGNING[0], ORG[1]))

    def partner_open(data: bytes, lang: str = "en") -> tuple[int, str]:
        path = tmp_path / "in.json"
        path.write_bytes(data)
        out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
        argv = ["--lang", lang, "open", str(path), "--key", str(key_file), "--out", str(out)]
        code = partner_cli.main(argv)
        return code, capsys.readouterr().err

    assert partner_open(packet("dev1", DEVICE, old))[0] == 0  # nothing newer seen yet
    assert partner_open(packet("dev2", other, new))[0] == 0  # the newer directory, kept
    refused = 0
    for lang, words in (("en", "no longer lists"), ("es", "ya no incluye")):
        code, err = partner_open(packet("dev1", DEVICE, old), lang)
        refused += code == 1 and words in err and "dev1" in err
    assert refused == 2
    assert partner_open(packet("dev2", other, old))[0] == 0  # still listed: its older one opens
    kept = json.loads((tmp_path / "partner.key.directories").read_text(encoding="utf-8"))
    assert list(kept) == ["tij1"]
    # The kept file changed by hand (its signature broken) is as if nothing was seen.
    (tmp_path / "partner.key.directories").write_text('{"tij1": "AAAA"}', encoding="utf-8")
    assert partner_open(packet("dev1", DEVICE, old))[0] == 0
