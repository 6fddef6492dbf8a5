"""Both command lines end to end: the admin's ``fieldscreen-server`` commands and a device's
``fieldscreen provision|enroll|simulate|sync|bundle`` against a real server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.cli import main as device_main
from fieldscreen.paths import Paths
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.vault import Vault
from tests.integration.server_support import SERVER_PASSPHRASE, open_storage


def server(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = server_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


PASS = "correct horse battery staple"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def device(capsys: pytest.CaptureFixture[str], profile: Path, *args: str) -> tuple[int, str, str]:
    """Run a device command on ``profile``'s vault (created at first use, as first run does)."""
    data = Paths.for_profile(profile).ensure().vault_dir
    if not Vault.exists(data):
        Vault.create(
            data, admin_login="admin1", passphrase=PASS.encode(), kdf=crypto.KdfParams.for_tests()
        ).close()
    passfile = profile.parent / f"{profile.name}.pass"
    passfile.write_text(PASS + "\n", encoding="utf-8")
    code = device_main(["--profile", str(profile), *args, "--passphrase-file", str(passfile)])
    out, err = capsys.readouterr()
    return code, out, err


def test_admin_and_device_commands_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "server.sqlite3")
    keys = tmp_path / "org-keys"
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery staple\n")
    pf = ["--passphrase-file", str(passfile)]
    code, out, _ = server(
        capsys, "init-org", "--db", db, "--out", str(keys), "--name", "Org", *pf, "--json"
    )
    assert code == 0, out
    assert sorted(p.name for p in keys.iterdir()) == [
        "organisation-public.json",
        "sealing-private.json",
        "signing-private.json",
    ]
    assert all((p.stat().st_mode & 0o077) == 0 for p in keys.iterdir())
    # init-org refuses to overwrite keys
    code, _, err = server(capsys, "init-org", "--db", db, "--out", str(keys), *pf)
    assert code == 1
    assert "already holds keys" in err

    storage = open_storage(db)
    with LiveServer(storage) as live:
        prov = tmp_path / "provisioning.fsp"
        code, _, err = server(
            capsys,
            "provision-file",
            "--db",
            db,
            "--out",
            str(prov),
            "--key",
            str(keys / "signing-private.json"),
            "--server-url",
            live.url,
            "--site",
            "s1",
            *pf,
        )
        assert code == 0, err
        code, out, _ = server(capsys, "enroll-code", "--db", db, "--site", "s1", "--json")
        enrol_code = json.loads(out)["code"]
        laptop = tmp_path / "laptop"
        assert device(capsys, laptop, "provision", str(prov))[0] == 0
        code, out, err = device(capsys, laptop, "enroll", "--code", enrol_code, "--json")
        assert code == 0, err
        device_id = json.loads(out)["device_id"]
        # the code is one-time
        other = tmp_path / "other"
        device(capsys, other, "provision", str(prov))
        code, _, err = device(capsys, other, "enroll", "--code", enrol_code)
        assert code == 1
        assert "not valid" in err
        assert "Traceback" not in err

        assert device(capsys, laptop, "simulate", "--screenings", "30")[0] == 0
        code, out, err = device(capsys, laptop, "sync", "--json")
        assert code == 0, err
        sync = json.loads(out)
        assert (sync["sent"], sync["delivered"], sync["audit_envelopes"]) == (30, 30, 1)

        # sneakernet: bundle out, import on the server, receipt back, applied twice
        assert device(capsys, laptop, "simulate", "--screenings", "5", "--seed", "2")[0] == 0
        bundle = tmp_path / "usb.fsb"
        code, out, _ = device(capsys, laptop, "bundle", "export", str(bundle), "--json")
        exported = json.loads(out)
        assert (exported["envelopes"], exported["audit_envelopes"]) == (5, 1)
        code, out, _ = server(capsys, "import-bundle", "--db", db, str(bundle), "--json")
        imported = json.loads(out)
        assert (imported["outcomes"], imported["audit_envelopes"]) == ({"stored": 5}, 1)
        # ... and again through a coordinator's online laptop, over HTTP: duplicates only
        code, out, _ = server(
            capsys, "token", "--db", db, "--role", "coordinator", "--site", "s1", "--json"
        )
        assert json.loads(out)["role"] == "coordinator"
        # `token ... > file` is the credential file: the token alone on standard output, the
        # advice on standard error
        code, out, err = server(
            capsys, "token", "--db", db, "--role", "coordinator", "--site", "s1"
        )
        assert code == 0
        assert len(out.split()) == 1
        assert "shown once" in err
        token_file = tmp_path / "coordinator-token"
        token_file.write_text(out)
        coordinator = tmp_path / "coordinator"
        device(capsys, coordinator, "provision", str(prov))

        def relay(token: Path, receipt_out: Path, *extra: str) -> tuple[int, str, str]:
            return device(
                capsys,
                coordinator,
                "bundle",
                "relay",
                str(bundle),
                "--token-file",
                str(token),
                "--receipt-out",
                str(receipt_out),
                *extra,
            )

        relayed = tmp_path / "relayed-receipt.fsr"
        code, out, err = relay(token_file, relayed, "--json")
        assert code == 0, err
        relayed_out = json.loads(out)
        assert (relayed_out["outcomes"], relayed_out["audit_envelopes"]) == ({"duplicate": 5}, 1)
        assert relayed.exists()
        # the wrong file given as the credential: named, and nothing sent
        wrong = tmp_path / "notes.txt"
        wrong.write_text("two words\n")
        code, _, err = relay(wrong, tmp_path / "never.fsr")
        assert code == 1
        assert "notes.txt cannot be read or holds no coordinator credential" in err
        assert not (tmp_path / "never.fsr").exists()
        receipt = tmp_path / "receipt.fsr"
        server_pass = tmp_path / "server.pass"
        server_pass.write_bytes(SERVER_PASSPHRASE + b"\n")
        code, _, err = server(
            capsys, "receipt", "--db", db, "--device", device_id, "--out", str(receipt)
        )
        assert code == 1  # no passphrase, no receipt
        assert "passphrase is needed to unlock its receipt key" in err
        assert not receipt.exists()
        code, _, _ = server(
            capsys,
            *("receipt", "--db", db, "--device", device_id, "--out", str(receipt)),
            *("--passphrase-file", str(server_pass)),
        )
        assert code == 0
        code, out, _ = device(capsys, laptop, "bundle", "apply-receipt", str(receipt), "--json")
        assert json.loads(out)["delivered"] == 5  # the audit segment delivered, not counted
        code, out, _ = device(capsys, laptop, "bundle", "apply-receipt", str(receipt), "--json")
        assert json.loads(out)["delivered"] == 0

        # a signed form comes down at the next sync
        form = tmp_path / "fs_intake.md"
        form.write_text("| survey |\n")
        code, _, err = server(
            capsys,
            "publish-form",
            "--db",
            db,
            str(form),
            "--key",
            str(keys / "signing-private.json"),
            "--version",
            "2026.12.1",
            *pf,
        )
        assert code == 0, err
        code, out, _ = device(capsys, laptop, "sync", "--json")
        assert json.loads(out)["updates_applied"] == 1

        code, out, _ = server(capsys, "stats", "--db", db, "--json")
        stats = json.loads(out)
        assert sum(r["envelopes"] for r in stats["per_day"]) == 35  # the 2 audit segments apart
        assert stats["conflicts"] == 0
        assert stats["report"]["total"] is not None
        code, out, _ = server(capsys, "stats", "--db", db, "--json", "--from-week", "2099-W01")
        assert code == 0
        assert json.loads(out)["report"]["total"] is None  # nothing counted that late
        code, _, err = server(capsys, "stats", "--db", db, "--to-week", "last week")
        assert code != 0
        assert err.count("\n") == 1

        # the central team's export, off the server
        code, out, err = server(
            capsys,
            "export",
            "--db",
            db,
            "--key",
            str(keys / "sealing-private.json"),
            "--format",
            "csv",
            "--out",
            str(tmp_path / "export"),
            *pf,
            "--json",
        )
        # simulated screenings are sealed as the app seals real ones: every one is read
        assert code == 0, err
        summary = json.loads(out)
        assert summary["exported"] + summary["held_back_by_consent"] == 35
        assert summary["exported"] > 0
        assert {k: v["count"] for k, v in summary["problems"].items()} == {
            "unverified": 0,
            "undecryptable": 0,
            "unreadable": 0,
            "unknown_form_version": 0,
        }
        # a wrong passphrase is one calm line
        bad = tmp_path / "bad"
        bad.write_text("wrong passphrase here")
        code, _, err = server(
            capsys,
            "export",
            "--db",
            db,
            "--key",
            str(keys / "sealing-private.json"),
            "--out",
            str(tmp_path / "x"),
            "--passphrase-file",
            str(bad),
        )
        assert code == 1
        assert "passphrase is wrong" in err

        # a lost laptop: wipe ordered, acted on at the next contact
        code, _, _ = server(capsys, "devices", "wipe", device_id, "--db", db)
        assert code == 0
        code, _, err = device(capsys, laptop, "sync")
        assert code == 1
        assert "withdrawn" in err
        code, out, _ = server(capsys, "devices", "list", "--db", db, "--json")
        assert json.loads(out)[0]["status"] == "wipe"
        code, out, _ = server(capsys, "retention", "apply", "--db", db, "--json")
        assert json.loads(out) == {"destroyed": 0, "held_destroyed": 0}
    storage.close()

    # failures are one line, no traceback
    code, _, err = server(capsys, "import-bundle", "--db", db, str(tmp_path / "missing.fsb"))
    assert code == 1
    assert err.count("\n") == 1
    tampered = bytearray(prov.read_bytes())
    tampered[40] ^= 1
    prov.write_bytes(bytes(tampered))
    code, _, err = device(capsys, tmp_path / "third", "provision", str(prov))
    assert code == 1
    assert "Traceback" not in err


def test_serve_on_a_taken_port_or_a_foreign_address_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An earlier server still running: refused in words, before any 'serving on' line."""
    import socket

    from fieldscreen.sync.server.live import free_port
    from fieldscreen.sync.simulate import SimOrg

    db = str(tmp_path / "server.sqlite3")
    org = SimOrg()
    storage = Storage.open(db)
    storage.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    storage.close()
    port = free_port()
    with socket.create_server(("127.0.0.1", port)):
        code, _, err = server(capsys, "serve", "--db", db, "--port", str(port))
    assert code == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in err
    assert " on http://" not in err
    # 192.0.2.0/24 is for documentation: no interface of this machine has it
    code, _, err = server(capsys, "serve", "--db", db, "--host", "192.0.2.1", "--port", "8470")
    assert code == 1
    assert "cannot listen on 192.0.2.1:8470" in err
    assert "Traceback" not in err
    code, _, err = server(capsys, "serve", "--db", db, "--port", "70000")
    assert code == 1
    assert "ports go from 1 to 65535" in err
    # an IPv6 loopback is an address like any other (where this machine has one)
    from fieldscreen.sync.server.cli import _check_address

    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        return
    _check_address("::1", free_port())
