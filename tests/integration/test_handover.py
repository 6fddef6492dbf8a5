"""A child's case handed over to a partner organisation, end to end on the laptop's real paths:
the partner and its keys in the signed service directory, ``fieldscreen handover`` making the
packet, ``fieldscreen-partner open`` reading it and signing the acknowledgement, and
``fieldscreen handover ack`` applying it. And the attackers: another partner's key, a forged
acknowledgement, a tampered packet, a directory whose partner key was swapped in the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto, partner_cli
from fieldscreen.cli import main
from fieldscreen.device import import_directory_file, open_settings
from fieldscreen.handover import make_ack
from fieldscreen.paths import Paths
from fieldscreen.sync.canonical import b64d, b64e, canonical
from fieldscreen.sync.signed import Provisioning, SignedDocument, Site, sign_document
from fieldscreen.sync.simulate import SimOrg
from fieldscreen.vault import Vault
from tests.integration.server_support import new_profile
from tests.support.vouching import org_key_file

PASS = "correct horse battery"


@pytest.fixture(autouse=True)
def light_kdf(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    crypto.permit_test_parameters(True)
    monkeypatch.setattr(partner_cli, "kdf_params", crypto.KdfParams.for_tests)
    yield
    crypto.permit_test_parameters(False)


def _cli(profile: Path, *args: str, capsys: Any, code: int = 0) -> dict[str, Any]:
    passfile = str(profile.parent / "pass.txt")
    got = main(["--profile", str(profile), *args, "--passphrase-file", passfile, "--json"])
    captured = capsys.readouterr()
    assert got == code, captured.out + captured.err
    return (
        dict(json.loads(captured.out))
        if captured.out.strip() and code == 0
        else {"err": captured.err}
    )


PARTNER_PASS = "partner passphrase 7"


def partner_main(argv: list[str]) -> int:
    """``fieldscreen-partner`` with the key file's passphrase from a file."""
    passfile = Path(argv[argv.index("--out" if argv[0] == "keygen" else "--key") + 1]).parent
    (passfile / "partner-pass.txt").write_text(PARTNER_PASS + "\n", encoding="utf-8")
    return partner_cli.main([*argv, "--passphrase-file", str(passfile / "partner-pass.txt")])


def _partner(tmp_path: Path, name: str, capsys: Any, org: SimOrg) -> tuple[Path, dict[str, Any]]:
    """A partner's key file, made with the organisation's public key (as its central team
    sends it), and the public keys keygen prints."""
    key = tmp_path / f"{name}.key"
    org_file = org_key_file(tmp_path, org.signing_public)
    argv = ["keygen", "--partner", name, "--out", str(key), "--org-key", str(org_file)]
    assert partner_main(argv) == 0
    return key, json.loads(capsys.readouterr().out)


def _directory(
    org: SimOrg,
    partners: list[dict[str, Any]],
    version: str = "2",
    devices: list[tuple[str, bytes]] | None = None,
) -> bytes:
    """The site's directory signed by ``org``, listing ``devices`` (id, Ed25519 key) as
    ``fieldscreen-server publish-directory`` lists the roster's."""
    content = {
        "format": "fieldscreen-service-directory",
        "format_version": 1,
        "directory_id": "tij1-dir",
        "version": version,
        "site": {"id": "tij1"},
        "services": [],
        "partners": partners,
        "devices": [{"id": d, "ed25519": b64e(k)} for d, k in devices or ()],
    }
    return sign_document("directory", "tij1", version, canonical(content), *org.signing).to_bytes()


@pytest.fixture
def laptop(tmp_path: Path, capsys: Any) -> dict[str, Any]:
    """A provisioned laptop at tij1 with simulated screenings, and two partners (one the
    child consented to, one another) in the signed directory."""
    profile = new_profile(tmp_path, PASS)
    org = SimOrg()
    provisioning = Provisioning(
        organisation=org.name,
        server_url="http://127.0.0.1:9",
        sealing_public_key=org.sealing_public,
        signing_public_key=org.signing_public,
        receipt_public_key=org.signing_public,
        sites=(Site("tij1", "Tijuana 1", "MX"),),
        allow_insecure_http=True,
    )
    path = tmp_path / "provisioning.json"
    path.write_bytes(
        sign_document(
            "provisioning", "provisioning", "1", provisioning.to_content(), *org.signing
        ).to_bytes()
    )
    _cli(profile, "provision", str(path), capsys=capsys)
    _cli(profile, "simulate", "--screenings", "12", "--distinct", "12", capsys=capsys)
    paths = Paths.for_profile(profile)
    case, recipient, refused = "", "", ""
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        for r in vault.list_records("finalised"):
            consent = vault.load_record(r.record_id)["forms"]["fs_consent"]
            yes = sorted(k[6:] for k, v in consent.items() if k.startswith("share_") and v == "yes")
            no = sorted(k[6:] for k, v in consent.items() if k.startswith("share_") and v != "yes")
            if yes and no and not case:
                case, recipient, refused = r.record_id, yes[0], no[0]
        device = (vault.device_id, vault.device_public_key)
    assert case, "no simulated child consented to any recipient"
    key, public = _partner(tmp_path, "receiver", capsys, org)
    other_key, other_public = _partner(tmp_path, "other", capsys, org)
    partners = [
        {"name": {"en": "Receiver"}, "recipient": recipient, "language": "es", **public},
        {"name": {"en": "Other"}, "recipient": refused, **other_public},
        {"id": "nokeys", "name": {"en": "No keys"}, "recipient": recipient},
    ]
    data = _directory(org, partners, devices=[device])
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        import_directory_file(vault, open_settings(paths), data, "directory.json")
    return {
        "profile": profile,
        "org": org,
        "case": case,
        "key": key,
        "other_key": other_key,
        "partners": partners,
        "device": device,
        "tmp": tmp_path,
    }


def test_a_handover_reaches_the_partner_and_its_acknowledgement_comes_back(
    laptop: dict[str, Any], capsys: Any
) -> None:
    profile, case, tmp = laptop["profile"], laptop["case"], laptop["tmp"]
    packet = tmp / "packet.json"
    out = _cli(
        profile, "handover", case[:6], "--to", "receiver", "--out", str(packet), capsys=capsys
    )
    assert (out["case"], out["partner"], out["basis"]) == (case, "receiver", "consent")
    assert b"fs_intake" not in packet.read_bytes()  # sealed: nothing readable on the way
    opened = tmp / "opened"
    assert (
        partner_main(["open", str(packet), "--key", str(laptop["key"]), "--out", str(opened)]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    summary = json.loads((opened / "summary.json").read_text(encoding="utf-8"))
    assert summary["case_id"] == case
    assert summary["language"] == "es"
    assert "Traspaso del caso" in (opened / "summary.txt").read_text(encoding="utf-8")
    ack = _cli(profile, "handover", "ack", result["ack"], capsys=capsys)
    assert (ack["case"], ack["already"]) == (case, False)
    again = _cli(profile, "handover", "ack", result["ack"], capsys=capsys)
    assert again["already"] is True  # applied once
    timeline = _cli(profile, "case", "timeline", case, capsys=capsys)
    types = [e["type"] for e in timeline["events"]]
    assert types.count("handover-sent") == 1
    assert types.count("handover-acknowledged") == 1
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        (handover,) = vault.case_card(case)["handovers"]
        assert handover["acknowledged"] == ack["received"]


def test_no_consent_no_packet_and_no_keys_no_packet(laptop: dict[str, Any], capsys: Any) -> None:
    profile, case, tmp = laptop["profile"], laptop["case"], laptop["tmp"]
    packet = tmp / "refused.json"
    err = _cli(
        profile, "handover", case, "--to", "other", "--out", str(packet), capsys=capsys, code=1
    )
    assert "did not consent" in err["err"]
    err = _cli(profile, "handover", case, capsys=capsys, code=1)  # no --to, no --out
    assert "fieldscreen handover CASE --to PARTNER --out FILE" in err["err"]
    assert not packet.exists()
    err = _cli(
        profile, "handover", case, "--to", "nokeys", "--out", str(packet), capsys=capsys, code=1
    )
    assert "no keys" in err["err"]
    assert not packet.exists()
    # an admin may release it, with a reason: the packet says so
    out = _cli(
        profile,
        "handover",
        case,
        "--to",
        "other",
        "--out",
        str(packet),
        "--release",
        "life at risk",
        capsys=capsys,
    )
    assert out["basis"] == "supervisor-release"


def test_attackers_are_refused(laptop: dict[str, Any], capsys: Any) -> None:
    profile, case, tmp = laptop["profile"], laptop["case"], laptop["tmp"]
    packet = tmp / "packet.json"
    _cli(profile, "handover", case, "--to", "receiver", "--out", str(packet), capsys=capsys)
    refused = 0
    # another partner's key cannot open it
    code = partner_main(
        ["open", str(packet), "--key", str(laptop["other_key"]), "--out", str(tmp / "x")]
    )
    refused += code == 1
    assert "sealed to another partner" in capsys.readouterr().err
    # a tampered packet is refused by name, in both languages
    doc = json.loads(packet.read_bytes())
    sealed = bytearray(b64d(doc["sealed"], "x"))
    sealed[40] ^= 1
    doc["sealed"] = b64e(bytes(sealed))
    bad = tmp / "tampered.json"
    bad.write_bytes(canonical(doc))
    for lang, words in (("en", "was changed after it was signed"), ("es", "se modificó")):
        code = partner_main(["--lang", lang, "open", str(bad), "--key", str(laptop["key"])])
        err = capsys.readouterr().err
        refused += code == 1
        assert words in err
        assert "tampered.json" in err
    # someone with the partner's key file but not its passphrase opens nothing
    wrong = tmp / "wrong-pass.txt"
    wrong.write_text("not the passphrase\n", encoding="utf-8")
    key_file = str(laptop["key"])
    args = ["open", str(packet), "--key", key_file, "--passphrase-file", str(wrong)]
    refused += partner_cli.main(args) == 1
    assert "does not open the key file" in capsys.readouterr().err
    assert b"private_key" not in laptop["key"].read_bytes()
    # a forged acknowledgement (signed by a key that is not the partner's) is refused
    _, _forger = crypto.generate_signing_keypair()
    forged = make_ack(
        {"packet_id": doc["packet_id"], "case_id": case},
        "0" * 64,
        "receiver",
        crypto.generate_signing_keypair()[0],
    )
    ack = tmp / "forged-ack.json"
    ack.write_bytes(forged)
    err = _cli(profile, "handover", "ack", str(ack), capsys=capsys, code=1)
    refused += "not signed by the partner" in err["err"]
    # a directory whose partner key was swapped in the file: its signature refuses it
    document = json.loads(_directory(laptop["org"], laptop["partners"], version="3"))
    content = json.loads(b64d(document["content"], "x"))
    content["partners"][0]["keys"]["x25519"] = b64e(crypto.generate_sealing_keypair()[1])
    document["content"] = b64e(canonical(content))
    paths = Paths.for_profile(profile)
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        with pytest.raises(Exception) as caught:
            import_directory_file(vault, open_settings(paths), canonical(document), "swapped.json")
        refused += getattr(caught.value, "code", "") == "sync-bad-signature"
    SignedDocument  # noqa: B018 -- the directory file's format
    assert refused == 6, f"refused {refused} of 6"


def test_send_needs_an_enrolled_laptop(laptop: dict[str, Any], capsys: Any) -> None:
    """``--send`` on a laptop that never enrolled would wait for a sync that never runs: it
    is refused, in both languages, and nothing is queued or recorded."""
    profile, case = laptop["profile"], laptop["case"]
    refused = _cli(profile, "handover", case, "--to", "receiver", "--send", capsys=capsys, code=1)
    assert "not enrolled" in refused["err"]
    passfile = str(profile.parent / "pass.txt")
    argv = ["--profile", str(profile), "--lang", "es", "handover", case, "--to", "receiver"]
    assert main([*argv, "--send", "--passphrase-file", passfile]) == 1
    assert "no está inscrita" in capsys.readouterr().err
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        assert not vault.case_card(case).get("handovers")
        assert vault.device_secret("handover.queue") is None


def test_a_flood_of_junk_acknowledgements_writes_one_audit_entry(laptop: dict[str, Any]) -> None:
    """A hostile server answering the sync with 500 acknowledgements that are not (junk, one
    signed by a stranger's key): all refused, nothing applied, and one audit entry for them,
    not one per junk entry, so the server cannot make the laptop write its audit log at will."""
    from fieldscreen.device import VaultDeviceStore

    stranger = crypto.generate_signing_keypair()[0]
    junk = [
        b"not json",
        b"{}",
        make_ack({"packet_id": "a" * 32, "case_id": "c"}, "0" * 64, "receiver", stranger),
    ] * 167
    junk = junk[:500]
    paths = Paths.for_profile(laptop["profile"])
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        before = len(vault.audit_log())
        store = VaultDeviceStore(vault, open_settings(paths))
        assert store.apply_handover_acks(junk) == (0, 500)
        assert len(vault.audit_log()) - before == 1


def test_acks_the_partner_signed_for_packets_this_laptop_never_sent_change_nothing(
    laptop: dict[str, Any], capsys: Any
) -> None:
    """The real partner's key signs acknowledgements a hostile server hands the sync: another
    packet id on the real case, the real packet with another packet's digest, the real packet
    on another case, a packet of another laptop. Refused 4 of 4; the card's handover stays
    unacknowledged and no event is added to the case."""
    import argparse
    import uuid

    from fieldscreen.device import VaultDeviceStore
    from fieldscreen.handover import open_packet

    profile, case, tmp = laptop["profile"], laptop["case"], laptop["tmp"]
    packet = tmp / "packet.json"
    _cli(profile, "handover", case, "--to", "receiver", "--out", str(packet), capsys=capsys)
    partner, sealing, signing, org = partner_cli._key(
        str(laptop["key"]),
        argparse.Namespace(
            passphrase_file=str(laptop["key"].parent / "partner-pass.txt"), org_key=None
        ),
    )
    content, digest = open_packet(packet.read_bytes(), "p", partner, sealing, org)
    other_case = next(r.record_id for r in _records(profile) if r.record_id != case)
    hostile = [
        make_ack({**content, "packet_id": uuid.uuid4().hex}, digest, partner, signing),
        make_ack(content, "e" * 64, partner, signing),
        make_ack({**content, "case_id": other_case}, digest, partner, signing),
        make_ack(
            {"packet_id": uuid.uuid4().hex, "case_id": uuid.uuid4().hex}, digest, partner, signing
        ),
    ]
    paths = Paths.for_profile(profile)
    events = len(_cli_timeline(profile, case, capsys))
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        store = VaultDeviceStore(vault, open_settings(paths))
        assert store.apply_handover_acks(hostile) == (0, 4)
        (handover,) = vault.case_card(case)["handovers"]
        assert not handover.get("acknowledged")
    assert len(_cli_timeline(profile, case, capsys)) == events
    with Vault.open(paths.vault_dir) as vault:  # the real one still applies, once
        vault.unlock("admin1", PASS.encode())
        real = make_ack(content, digest, partner, signing)
        assert VaultDeviceStore(vault, open_settings(paths)).apply_handover_acks([real]) == (1, 0)


def _records(profile: Path) -> list[Any]:
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        return list(vault.list_records("finalised"))


def _cli_timeline(profile: Path, case: str, capsys: Any) -> list[Any]:
    return list(_cli(profile, "case", "timeline", case, capsys=capsys)["events"])


def test_a_laptop_the_directory_no_longer_lists_makes_no_packet(
    laptop: dict[str, Any], capsys: Any
) -> None:
    """After a revocation the central team publishes the site's directory again, without the
    laptop: the laptop makes no packet a partner would refuse, says so in both languages, and
    records nothing on the case. A packet it made before still opens at the partner, who holds
    no newer directory (docs/handover.md says what that leaves)."""
    profile, case, tmp = laptop["profile"], laptop["case"], laptop["tmp"]
    before = tmp / "before.json"
    _cli(profile, "handover", case, "--to", "receiver", "--out", str(before), capsys=capsys)
    paths = Paths.for_profile(profile)
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        data = _directory(laptop["org"], laptop["partners"], version="3", devices=[])
        import_directory_file(vault, open_settings(paths), data, "directory.json")
    events = len(_cli_timeline(profile, case, capsys))
    after = tmp / "after.json"
    err = _cli(
        profile, "handover", case, "--to", "receiver", "--out", str(after), capsys=capsys, code=1
    )
    assert "does not list it" in err["err"]
    passfile = str(profile.parent / "pass.txt")
    argv = ["--profile", str(profile), "--lang", "es", "handover", case, "--to", "receiver"]
    assert main([*argv, "--out", str(after), "--passphrase-file", passfile]) == 1
    assert "no la incluye" in capsys.readouterr().err
    assert not after.exists()
    assert len(_cli_timeline(profile, case, capsys)) == events
    opened = tmp / "opened-before"
    argv = ["open", str(before), "--key", str(laptop["key"]), "--out", str(opened)]
    assert partner_main(argv) == 0
    assert json.loads(capsys.readouterr().out)["packet_id"]


def test_a_packet_for_a_withdrawn_partner_is_held_until_a_person_decides(
    laptop: dict[str, Any], capsys: Any
) -> None:
    """The organisation withdraws a partner: the site's signed directory no longer names it.
    Its queued packet is no longer offered to the server; it is held, sealed as it was, listed
    by ``fieldscreen handover held`` in both languages, and stays until a person resends it
    (back on the queue, held again while the directory still says so) or discards it
    (audited)."""
    import uuid

    from fieldscreen.device import VaultDeviceStore, held_handovers, queue_handover

    profile, paths = laptop["profile"], Paths.for_profile(laptop["profile"])
    packet_id, kept_id = uuid.uuid4().hex, uuid.uuid4().hex
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        store = VaultDeviceStore(vault, open_settings(paths))
        queue_handover(vault, "other", packet_id, b"sealed packet bytes")
        queue_handover(vault, "receiver", kept_id, b"another packet")
        assert store.hold_withdrawn_handovers() == 0  # both partners still in the directory
        without_other = [p for p in laptop["partners"] if p.get("id") != "other"]
        data = _directory(laptop["org"], without_other, version="3", devices=[laptop["device"]])
        import_directory_file(vault, open_settings(paths), data, "directory.json")
        assert store.hold_withdrawn_handovers() == 1
        assert store.hold_withdrawn_handovers() == 1  # once: still one held, none added
        assert [q[1] for q in store.queued_handovers()] == [kept_id]
        assert b64d(held_handovers(vault)[packet_id][1], "x") == b"sealed packet bytes"
    listed = _cli(profile, "handover", "held", capsys=capsys)
    assert [(h["packet_id"], h["partner"]) for h in listed["held"]] == [(packet_id, "other")]
    passfile = str(profile.parent / "pass.txt")
    argv = ["--profile", str(profile), "--lang", "es", "handover", "held"]
    assert main([*argv, "--passphrase-file", passfile]) == 0
    assert packet_id in capsys.readouterr().out
    resent = _cli(profile, "handover", "held", "--resend", packet_id, capsys=capsys)
    assert resent["resent"] is True
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        store = VaultDeviceStore(vault, open_settings(paths))
        assert packet_id in [q[1] for q in store.queued_handovers()]
        assert store.hold_withdrawn_handovers() == 1  # the directory still says so
    _cli(profile, "handover", "held", "--discard", packet_id, capsys=capsys)
    err = _cli(profile, "handover", "held", "--discard", packet_id, capsys=capsys, code=1)
    assert "is held on this laptop" in err["err"]
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        assert held_handovers(vault) == {}
        assert [q[1] for q in VaultDeviceStore(vault, open_settings(paths)).queued_handovers()] == [
            kept_id
        ]
        discarded = [e for e in vault.audit_log() if "handover-discarded" in str(e)]
        assert len(discarded) == 1


def test_acks_carried_back_by_file_apply_once_and_unqueue_the_packet(
    laptop: dict[str, Any], capsys: Any
) -> None:
    """A laptop that syncs by USB carries its queued packet in every bundle until the
    partner's acknowledgement comes back: the server's file of acknowledgements (one per line,
    ``fieldscreen-server receipt --acks``) applies the genuine one once, refuses a forged one
    beside it, and takes the packet off the queue so no later bundle carries it."""
    from fieldscreen.device import VaultDeviceStore, queue_handover

    profile, case, tmp = laptop["profile"], laptop["case"], laptop["tmp"]
    packet = tmp / "packet.json"
    made = _cli(profile, "handover", case, "--to", "receiver", "--out", str(packet), capsys=capsys)
    paths = Paths.for_profile(profile)
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        queue_handover(vault, "receiver", made["packet_id"], packet.read_bytes())
    opened = tmp / "opened-usb"
    argv = ["open", str(packet), "--key", str(laptop["key"]), "--out", str(opened)]
    assert partner_main(argv) == 0
    genuine = Path(json.loads(capsys.readouterr().out)["ack"]).read_bytes()
    forged = make_ack(
        {"packet_id": made["packet_id"], "case_id": case},
        "0" * 64,
        "receiver",
        crypto.generate_signing_keypair()[0],
    )
    acks = tmp / "acks.txt"
    acks.write_bytes(genuine + b"\n" + forged + b"\n")
    first = _cli(profile, "handover", "ack", str(acks), capsys=capsys)
    assert (first["applied"], first["refused"]) == (1, 1)
    again = _cli(profile, "handover", "ack", str(acks), capsys=capsys)
    assert (again["applied"], again["refused"], again["already"]) == (0, 1, 1)
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        assert VaultDeviceStore(vault, open_settings(paths)).queued_handovers() == []
        (entry,) = vault.case_card(case)["handovers"]
        assert entry["acknowledged"]
