"""The same child again, on a real server: the organisation's match secret travels in the
installer's provisioning file only; laptops' match tokens are stored beside their screenings and
coordinators, only they, see the possible matches; another enrolled device that floods tokens
is bounded (docs/privacy-matching.md)."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.reports.matching import Identity, match_tokens
from fieldscreen.sync.envelope import Envelope, build_envelope
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import MATCH_RECORDS_PER_DAY, Storage
from fieldscreen.sync.signed import Provisioning
from fieldscreen.sync.simulate import SimDevice, synthetic_aggregate, synthetic_payload
from tests.integration.server_support import open_storage

SECRET = bytes(range(32))
API = "/api/v1"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def server_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = server_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_match_secret_reaches_the_laptop_never_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "server.sqlite3")
    keys = tmp_path / "org-keys"
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery staple\n")
    pf = ["--passphrase-file", str(passfile)]
    assert server_cli(capsys, "init-org", "--db", db, "--out", str(keys), *pf)[0] == 0
    storage = open_storage(db)  # the server's receipt key, which provisioning names
    secret_file = tmp_path / "match-secret.json"
    code, out, err = server_cli(capsys, "match-secret", "--out", str(secret_file), *pf, "--json")
    assert code == 0, err
    assert json.loads(out) == {"out": str(secret_file)}
    assert b"ciphertext" in secret_file.read_bytes()  # protected like a private key
    code, _, err = server_cli(capsys, "match-secret", "--out", str(secret_file), *pf)
    assert code == 1
    assert "Traceback" not in err

    def provision(name: str, *extra: str) -> bytes:
        out_file = tmp_path / name
        code, _, err = server_cli(
            capsys,
            "provision-file",
            "--db",
            db,
            "--out",
            str(out_file),
            "--key",
            str(keys / "signing-private.json"),
            "--server-url",
            "https://sync.example.org",
            "--site",
            "s1",
            *extra,
            *pf,
        )
        assert code == 0, err
        return out_file.read_bytes()

    installer = provision("installer.fsp", "--match-secret", str(secret_file))
    provisioning = Provisioning.verify_file(installer, None)
    assert provisioning.match_secret is not None
    assert len(provisioning.match_secret) == 32
    assert provisioning.match_secret not in repr(provisioning).encode()
    update = provision("update.fsp")
    assert Provisioning.verify_file(update, None).match_secret is None

    try:
        with pytest.raises(KnownError) as refused:
            storage.repos.documents.publish(installer, "admin")
        assert refused.value.code == "server-provisioning-secret"
        assert storage.repos.documents.publish(update, "admin").kind == "provisioning"
        assert all(b"match_secret" not in doc for _kind, doc in _documents(storage))
    finally:
        storage.close()


def _documents(storage: object) -> list[tuple[str, bytes]]:
    from fieldscreen.sync.server.db import tables as t

    engine = storage.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [(str(r.kind), bytes(r.document)) for r in conn.execute(t.documents.select())]


def _screening(
    device: SimDevice,
    rng: random.Random,
    identity: Identity | None,
    *,
    days_ago: int = 0,
    consent: bool = False,
    tier: str = "T2",
) -> Envelope:
    """A screening as a laptop seals it and queues it: tokens (under the organisation's
    secret) beside its aggregate record, and nothing of the identifiers."""
    day = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    aggregate: dict[str, Any] = {**synthetic_aggregate(rng), "tier": tier}
    if identity is not None:
        aggregate["age_band"] = identity.age_band or aggregate["age_band"]
        aggregate["match"] = match_tokens(identity, SECRET)
        aggregate["match_consent"] = consent
    iso = day.date().isocalendar()
    aggregate["week"] = f"{iso[0]}-W{iso[1]:02d}"
    envelope = build_envelope(
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "fs_intake",
        "2026.11.1",
        device.device_id,
        device.spool.next_seq(),
        day,
        synthetic_payload(rng, 600),
        device.org.sealing_public,
        device.signing_private,
        aggregate=aggregate,
    )
    device.spool.enqueue_many([envelope])
    return envelope


def _send(device: SimDevice, envelopes: list[Envelope]) -> Any:
    """Sync ``device``, whose queue holds ``envelopes``."""
    assert envelopes
    return device.sync()


def _get(server: LiveServer, path: str, token: str, signer: DeviceSigner | None = None) -> Any:
    with httpx.Client(base_url=server.url + API, timeout=60) as http:
        request = http.build_request("GET", path, headers={"authorization": f"Bearer {token}"})
        if signer is not None:
            request.headers.update(
                signer.headers("GET", request.url.raw_path, request.content, time.time())
            )
        return http.send(request)


def test_the_same_child_at_two_sites_is_flagged_to_coordinators_only(
    server: LiveServer,
    storage: Storage,
    new_device: Callable[..., SimDevice],
    rng: random.Random,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = new_device("s1"), new_device("s2")
    child = Identity.of("María José", dob="2010-03-04", age_band="15_17", country="HN")
    again = Identity.of("maria", dob="2010-03-04", age_band="15_17", country="HN")  # a name less
    others = [
        Identity.of(name, dob=f"2011-01-{n + 1:02d}", age_band="12_14", country="GT")
        for n, name in enumerate(["Kevin", "Dulce", "Wilmer", "Heidy", "Marvin", "Lesly"])
    ]
    common = Identity.of("Lesly", age_band="15_17", country="SV")  # no date of birth: nac only
    for _ in range(9):  # nine girls of that name, age band and country: too common to tell
        _screening(a, rng, common)
    first = _screening(a, rng, child, days_ago=28, tier="T1")
    _send(a, [first, *(_screening(a, rng, o) for o in others[:3]), _screening(a, rng, None)])
    second = _screening(b, rng, again, consent=True, tier="T0")
    summary = _send(b, [second, *(_screening(b, rng, o) for o in others[3:])])
    assert summary.delivered == 4
    assert storage.repos.reporting.count("envelopes") == 18
    coord_s2 = storage.repos.credentials.create_credential("coordinator", ["s2"], "coordinator s2")
    coord_s1 = storage.repos.credentials.create_credential("coordinator", ["s1"], "coordinator s1")
    coord_s3 = storage.repos.credentials.create_credential("coordinator", ["s3"], "coordinator s3")
    admin = storage.repos.credentials.create_credential("admin", [], "admin")
    answer = _get(server, "/admin/matches", coord_s2)
    assert answer.status_code == 200, answer.text
    assert answer.json()["too_common"] == 1
    (pair,) = answer.json()["matches"]
    assert (pair["record_id"], pair["site"], pair["tier"], pair["consent"]) == (
        second.record_id,
        "s2",
        "T0",
        True,
    )
    assert (pair["earlier"]["record_id"], pair["earlier"]["site"]) == (first.record_id, "s1")
    assert pair["earlier"]["tier"] == "T1"
    assert pair["tokens"] == ["fdc"]  # the second given name dropped: first name + dob + country
    assert _get(server, "/admin/matches", coord_s1).json()["matches"] == [pair]
    assert _get(server, "/admin/matches", admin).json()["matches"] == [pair]
    assert _get(server, "/admin/matches", coord_s3).json()["matches"] == []
    # a lower role: the laptops' own signed requests are refused, and so is no token at all
    refused = 0
    for device in (a, b):
        signer = DeviceSigner.from_private_key(device.device_id, device.signing_private)
        assert device.identity is not None
        response = _get(server, "/admin/matches", device.identity.token, signer)
        refused += response.status_code == 403
    refused += _get(server, "/admin/matches", "not-a-token").status_code == 401
    assert refused == 3
    # nothing of the identifiers reached the server's database
    dump = "\n".join(str(tuple(r)) for r in _rows(storage, "envelopes"))
    dump += "\n".join(str(tuple(r)) for r in _rows(storage, "match_tokens"))
    assert not any(word in dump.lower() for word in ("maria", "2010-03-04", "kevin"))
    # the server command line gives the same list, and the audit log says who read it
    db = storage.engine.url.render_as_string(hide_password=False)
    code, out, _ = server_cli(capsys, "matches", "--db", db, "--json")
    assert code == 0
    assert json.loads(out) == {"matches": [pair], "too_common": 1}
    actions = [r.action for r in _rows(storage, "audit")]
    assert actions.count("matches-read") == 5


def test_another_enrolled_device_flooding_tokens_is_bounded(
    server: LiveServer,
    storage: Storage,
    new_device: Callable[..., SimDevice],
    rng: random.Random,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A device of the organisation (so it holds the secret) sends far more screenings with
    tokens than a laptop makes in a day, dictionary guesses among them, to fill the list or
    probe it: the server keeps the tokens of MATCH_RECORDS_PER_DAY of them, says so in its
    audit log, and the coordinators' list is refused to the device."""
    honest, flooder = new_device("s1"), new_device("s2")
    child = Identity.of("Ana", dob="2012-02-03", age_band="12_14", country="GT")
    _send(honest, [_screening(honest, rng, child, days_ago=7)])
    guesses = [
        Identity.of("Ana", dob=f"2012-{1 + n // 28:02d}-{1 + n % 28:02d}", country="GT")
        for n in range(MATCH_RECORDS_PER_DAY + 60)
    ]
    summary = _send(flooder, [_screening(flooder, rng, g) for g in guesses])
    assert summary.delivered == len(guesses)  # the screenings are stored: only tokens set aside
    kept = {r.record_id for r in _rows(storage, "match_tokens") if r.device_id == flooder.device_id}
    audit = [json.loads(r.detail) for r in _rows(storage, "audit")
             if r.action == "match-tokens-set-aside"]  # fmt: skip
    signer = DeviceSigner.from_private_key(flooder.device_id, flooder.signing_private)
    assert flooder.identity is not None
    told = _get(server, "/admin/matches", flooder.identity.token, signer).status_code
    with capsys.disabled():
        print(
            f"\nflooding device: {len(guesses)} screenings with tokens, tokens kept for "
            f"{len(kept)}, set aside {sum(a['screenings'] for a in audit)}, match list to the "
            f"device: HTTP {told}"
        )
    assert len(kept) == MATCH_RECORDS_PER_DAY
    assert sum(a["screenings"] for a in audit) == len(guesses) - MATCH_RECORDS_PER_DAY
    assert told == 403


def _rows(storage: Storage, table: str) -> list[Any]:
    from fieldscreen.sync.server.db import tables as t

    with storage.engine.connect() as conn:
        return list(conn.execute(getattr(t, table).select()))


def _laptop_finalise(profile: Path, state: dict[str, Any], tier: str) -> str:
    """Finalise one screening on a laptop's real vault the way the app does (its aggregate
    with the child's match tokens beside it, from the vault's match secret)."""
    from fieldscreen.device import open_settings, open_vault, wire_signing, with_match_tokens
    from fieldscreen.paths import Paths

    paths = Paths.for_profile(profile)
    vault = open_vault(paths, open_settings(paths))
    try:
        vault.unlock("admin1", LAPTOP_PASS.encode())
        wire_signing(vault)
        record_id = vault.new_draft("fs_intake", "2026112802", state)
        record = {"form_id": "fs_intake", "form_version": "2026112802", "state": state}
        aggregate = {
            "tier": tier,
            "concerns": [],
            "age_band": "15_17",
            "sex": "female",
            "nationality": ["HN"],
            "site": "s1",
            "week": "2026-W40",
        }
        vault.finalise(
            record_id,
            record=record,
            case_card={"tier": tier},
            aggregate=with_match_tokens(vault, record, aggregate),
        )
        return record_id
    finally:
        vault.close()


LAPTOP_PASS = "correct horse battery staple"


def _state(given: str, *, consent: str) -> dict[str, Any]:
    return {
        "forms": {
            "fs_consent": {"answers": [["check_earlier_screening", [], consent]]},
            "fs_intake": {
                "answers": [
                    ["given_names", [], given],
                    ["dob", [], "2010-03-04"],
                    ["country_of_birth", [], "HN"],
                ]
            },
        }
    }


def test_a_specialist_is_told_with_the_childs_consent_and_links_the_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end on a real server and two laptops' real vaults and commands: a child screened
    at site s1, then at s2 with a name written differently; the s2 laptop, whose child agreed,
    is told of the earlier screening (site, week, tier) and links the cases on the card; a
    child who did not agree gives the laptop nothing, and neither laptop reads the list."""
    from fieldscreen.cli import main as device_main
    from fieldscreen.vault import Vault

    db = str(tmp_path / "server.sqlite3")
    keys = tmp_path / "org-keys"
    passfile = tmp_path / "pass"
    passfile.write_text(LAPTOP_PASS + "\n")
    pf = ["--passphrase-file", str(passfile)]
    assert server_cli(capsys, "init-org", "--db", db, "--out", str(keys), *pf)[0] == 0
    storage = open_storage(db)
    secret_file = tmp_path / "match-secret.json"
    assert server_cli(capsys, "match-secret", "--out", str(secret_file), *pf)[0] == 0
    with LiveServer(storage) as live:
        prov = tmp_path / "installer.fsp"
        code, _, err = server_cli(
            capsys,
            *("provision-file", "--db", db, "--out", str(prov)),
            *("--key", str(keys / "signing-private.json"), "--server-url", live.url),
            *("--site", "s1", "--site", "s2", "--match-secret", str(secret_file), *pf),
        )
        assert code == 0, err

        def laptop(name: str, site: str) -> Path:
            from fieldscreen.paths import Paths

            profile = tmp_path / name
            Vault.create(
                Paths.for_profile(profile).ensure().vault_dir,
                admin_login="admin1",
                passphrase=LAPTOP_PASS.encode(),
                kdf=crypto.KdfParams.for_tests(),
            ).close()
            assert run(profile, "provision", str(prov))[0] == 0
            enrol = json.loads(
                server_cli(capsys, "enroll-code", "--db", db, "--site", site, "--json")[1]
            )["code"]
            assert run(profile, "enroll", "--code", enrol)[0] == 0
            return profile

        def run(profile: Path, *args: str) -> tuple[int, str, str]:
            code = device_main(["--profile", str(profile), *args, *pf])
            out, err = capsys.readouterr()
            return code, out, err

        a, b = laptop("laptop-a", "s1"), laptop("laptop-b", "s2")
        first = _laptop_finalise(a, _state("María José", consent="no"), "T1")
        assert run(a, "sync", "--json")[0] == 0
        again = _laptop_finalise(b, _state("MARIA-JOSÉ", consent="yes"), "T3")
        stranger = _laptop_finalise(b, _state("Heidy", consent="yes"), "T2")
        assert run(b, "sync", "--json")[0] == 0

        code, out, err = run(b, "matches", "--json")
        assert code == 0, err
        (told,) = json.loads(out)["matches"]
        assert told["record_id"] == again
        assert told["earlier"] == [
            {"record_id": first, "site": "s1", "week": "2026-W40", "tier": "T1"}
        ]
        assert stranger not in out
        code, out, _ = run(b, "--lang", "es", "matches")
        assert f"caso {again[:6].upper()}: hay un tamizaje anterior en el sitio s1" in out
        code, out, _ = run(a, "matches", "--json")  # that child did not agree: nothing
        assert json.loads(out)["matches"] == []
        code, _, err = run(b, "matches", "--link", again, stranger)
        assert code == 1
        assert "names no such earlier screening" in err
        code, out, err = run(b, "matches", "--link", again, first, "--json")
        assert code == 0, err
        code, out, _ = run(b, "matches")
        assert out.strip().endswith("tier T1 (linked)")
        code, out, err = run(b, "case", "timeline", again, "--json")  # a sealed case event
        assert code == 0, err
        assert '"linked"' in out
        assert first in out
        # the coordinators see the pair; the audit logs say who was told and who read it
        (pair,) = storage.repos.matching.matches(_coordinator("s1"))["matches"]
        assert {pair["record_id"], pair["earlier"]["record_id"]} == {again, first}  # one day
        actions = [r.action for r in _rows(storage, "audit")]
        assert actions.count("matches-told") == 6
    storage.close()


def _coordinator(site: str) -> Any:
    from fieldscreen.sync.server.storage import Principal

    return Principal("coordinator", frozenset({site}), f"coordinator {site}")
