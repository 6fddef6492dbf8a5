"""The aggregate record: built from a case's sessions in the shape reports read, withheld when
the child declined statistics, signed with the envelope, encrypted at rest until it is sent."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.forms.aggregate import case_aggregate, iso_week
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.synthetic import synthetic_case
from fieldscreen.reports.aggregates import parse_aggregate
from fieldscreen.sync.envelope import verify_envelope
from fieldscreen.sync.vault_bridge import envelope_from_item, header_signing_bytes
from fieldscreen.vault import Vault

PASS = b"correct horse battery"
DAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def cases() -> list[object]:
    forms = builtin_forms()
    rng = random.Random(11)
    ctx = {"site": "tij1", "jurisdiction": "MX"}
    return [synthetic_case(forms, rng, context=ctx) for _ in range(60)]


def test_every_case_gives_a_valid_aggregate_or_none(cases: list[object]) -> None:
    valid = declined = 0
    for case in cases:
        sessions = list(case.sessions.values())  # type: ignore[attr-defined]
        aggregate = case_aggregate(sessions, site="tij1", day=DAY)
        refused = any(
            "share_stats" in s.form.fields and s.value("share_stats") == "no" for s in sessions
        )
        if aggregate is None:
            assert refused
            declined += 1
            continue
        assert not refused
        parsed = parse_aggregate(aggregate)  # raises on any other shape
        assert parsed.site == "tij1"
        assert parsed.week == "2026-W48"
        valid += 1
    assert valid > 20
    assert declined > 0


def test_iso_week_at_the_year_edge() -> None:
    assert iso_week(date(2027, 1, 1)) == "2026-W53"
    assert iso_week(date(2026, 12, 28)) == "2026-W53"


def test_an_aggregate_of_another_shape_is_refused() -> None:
    with pytest.raises(KnownError):
        parse_aggregate({"tier": "act_now"})


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    crypto.permit_test_parameters(True)
    _, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    v = Vault.create(
        tmp_path / "data",
        admin_login="admin1",
        passphrase=PASS,
        kdf=crypto.KdfParams.for_tests(),
        signing_bytes=header_signing_bytes(sealing_public),
    )
    v.set_org_keys(sealing_public, signing_public)
    yield v
    v.close()
    crypto.permit_test_parameters(False)


def test_the_vault_signs_the_aggregate_and_keeps_it_encrypted(vault: Vault) -> None:
    aggregate = {
        "tier": "T0",
        "concerns": ["at_risk_trafficking"],
        "age_band": "12_14",
        "sex": "female",
        "nationality": ["HN"],
        "site": "CANARYSITE77",
        "week": "2026-W48",
    }
    with vault.bulk():
        with_agg = vault.new_draft("fs_intake", "1")
        vault.finalise(with_agg, record={"a": 1}, case_card={}, aggregate=aggregate)
        without = vault.new_draft("fs_intake", "1")
        vault.finalise(without, record={"a": 2}, case_card={}, aggregate=None)
    items = {i.record_id: i for i in vault.outbox_page(limit=10)}
    key = vault.org_sealing_key()
    assert key is not None
    from fieldscreen.sync.envelope import key_id_hex

    for record_id, expected in ((with_agg, aggregate), (without, {})):
        envelope = envelope_from_item(items[record_id], key_id_hex(key))
        assert dict(envelope.aggregate) == expected
        verify_envelope(envelope, vault.device_public_key)  # the aggregate is signed
    assert vault.integrity_check().ok
    raw = b"".join(p.read_bytes() for p in vault.folder.iterdir() if p.is_file())
    assert raw.count(b"CANARYSITE77") == 0  # canary hits 0
    vault.lock()
    with pytest.raises(KnownError) as info:
        vault.outbox_page(limit=10)
    assert info.value.code == "vault-locked"
    assert vault.outbox_deliver([(with_agg, items[with_agg].payload_sha256)]) == 1
