"""The handover packet holds only what the child consented to share with its recipient:
property-based over the consent answers (leaks 0), and the packet round trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldscreen import crypto
from fieldscreen.directory import Partner
from fieldscreen.errors import DeviceError
from fieldscreen.handover import SUMMARY_FIELDS, open_packet, packet_content, seal_packet

RECIPIENTS = (
    "family",
    "cp_authority",
    "legal",
    "health",
    "psychosocial",
    "shelter",
    "gbv",
    "anti_trafficking",
    "consulate",
    "un_agencies",
    "orr_sponsor",
    "tracing",
    "stats",
    "photo",
)
RETURN_ANSWERS = {"child_wants_return": "yes", "country_of_return": "HN", "escort_type": "staff"}
ANSWERS = st.sampled_from(("yes", "no", None, "unsure"))
SEALING = crypto.generate_sealing_keypair()
SIGNING = crypto.generate_signing_keypair()


def _record(consent: dict[str, Any], withholds: list[str]) -> dict[str, Any]:
    """A record whose every answer outside the shareable ones is a canary."""
    forms: dict[str, dict[str, Any]] = {
        "fs_consent": {
            **{f"share_{r}": consent[r] for r in RECIPIENTS},
            "interpreter_name": "CANARY-a",
        },
        "fs_intake": {"given_name": "CANARY-b", "journey_notes": "CANARY-c"},
        "fs_gbv": {"disclosure_text": "CANARY-d"},
        "fs_return": {
            **RETURN_ANSWERS,
            "child_reasons": "CANARY-e",  # free text never leaves
            "share_gbv": consent["gbv"],
            "ctx_staff": "CANARY-f",
        },
    }
    return {"forms": forms, "risk": {"fs_intake": {"withholds": withholds, "releases": []}}}


CARD = {
    "tier": "T1",
    "concerns": ["separated"],
    "alias": "CANARY-g",
    "actions_taken": "CANARY-h",
    "protection_status": "separated",
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    consent=st.fixed_dictionaries(dict.fromkeys(RECIPIENTS, ANSWERS)),
    recipient=st.sampled_from(RECIPIENTS),
    withholds=st.lists(st.sampled_from(RECIPIENTS), max_size=2),
    lang=st.sampled_from(("en", "es")),
)
def test_a_packet_never_holds_what_the_child_did_not_consent_to(
    consent: dict[str, Any], recipient: str, withholds: list[str], lang: str
) -> None:
    partner = Partner("p1", {"en": "P"}, recipient, lang, "HN", SEALING[1], SIGNING[1])
    record = _record(consent, withholds)
    allowed = consent[recipient] == "yes" and recipient not in withholds
    if not allowed:
        with pytest.raises(DeviceError) as refused:
            packet_content(record, CARD, partner, "a" * 32)
        assert refused.value.code in {"handover-not-consented", "handover-withheld"}
        return
    content = packet_content(record, CARD, partner, "a" * 32)
    packet = seal_packet(content, partner, "dev1", SIGNING[1], lambda m: crypto.sign(SIGNING[0], m))
    opened, _ = open_packet(packet, "p.json", "p1", SEALING[0])
    text = repr(opened)
    assert "CANARY" not in text, "a field the child did not consent to share left"
    assert "share_" not in text  # the child's answers for other recipients stay
    assert set(opened["summary"]) <= set(SUMMARY_FIELDS)
    assert {row["field"] for row in opened["return_plan"]} <= set(RETURN_ANSWERS)
    assert opened["return_plan"]
    assert opened["summary"]["tier"] == "T1"
    assert opened["basis"] == "consent"
    assert opened["language"] == lang


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    consent=st.fixed_dictionaries(dict.fromkeys(RECIPIENTS, ANSWERS)),
    recipient=st.sampled_from(RECIPIENTS),
    withholds=st.lists(st.sampled_from(RECIPIENTS), max_size=2),
)
def test_a_coordinators_release_says_so_and_still_holds_only_the_summary_and_plan(
    consent: dict[str, Any], recipient: str, withholds: list[str]
) -> None:
    partner = Partner("p1", {"en": "P"}, recipient, "en", "", SEALING[1], SIGNING[1])
    content = packet_content(
        _record(consent, withholds), CARD, partner, "a" * 32, release_reason="life at risk"
    )
    allowed = consent[recipient] == "yes" and recipient not in withholds
    assert content["basis"] == ("consent" if allowed else "supervisor-release")
    assert content["release_reason"] == ("" if allowed else "life at risk")
    assert "CANARY" not in repr(content)
    assert "share_" not in repr(content)


def test_a_partner_without_keys_gets_no_packet() -> None:
    consent = dict.fromkeys(RECIPIENTS, "yes")
    partner = Partner("p1", {"en": "P"}, "legal", "en", "", b"", b"")
    with pytest.raises(DeviceError) as refused:
        packet_content(_record(consent, []), CARD, partner, "a" * 32)
    assert refused.value.code == "handover-partner-no-keys"


def test_a_packet_changed_anywhere_is_refused_by_name() -> None:
    """Every byte of a packet's sealed part and header flipped in turn: refused 0 silently
    accepted (each one a handover-packet-tampered or handover-wrong-key, never content)."""
    consent = dict.fromkeys(RECIPIENTS, "yes")
    partner = Partner("p1", {"en": "P"}, "legal", "en", "", SEALING[1], SIGNING[1])
    content = packet_content(_record(consent, []), CARD, partner, "a" * 32)
    packet = seal_packet(content, partner, "dev1", SIGNING[1], lambda m: crypto.sign(SIGNING[0], m))
    accepted, codes = 0, set()
    positions = range(0, len(packet), max(1, len(packet) // 40))
    for i in positions:
        changed = bytearray(packet)
        changed[i] = (changed[i] + 1) % 128 or 65
        try:
            open_packet(bytes(changed), "p.json", "p1", SEALING[0])
        except DeviceError as exc:
            codes.add(exc.code)
            continue
        accepted += changed != packet
    assert codes <= {"handover-packet-tampered", "handover-wrong-key"}
    assert accepted == 0, f"silently accepted {accepted} of {len(positions)}"
