"""The handover packet holds only what the child consented to share with its recipient:
property-based over the consent answers (leaks 0), its concerns only those the consent to that
recipient covers (leaks 0 over 400 random cases), and the packet round trip."""

from __future__ import annotations

import html
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldscreen import crypto
from fieldscreen.directory import Partner
from fieldscreen.errors import DeviceError
from fieldscreen.handover import SUMMARY_FIELDS, open_packet, packet_content
from tests.support.vouching import ORG, seal_vouched

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
    packet = seal_vouched(content, partner, "dev1", SIGNING)
    opened, _ = open_packet(packet, "p.json", "p1", SEALING[0], ORG[1])
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
    packet = seal_vouched(content, partner, "dev1", SIGNING)
    accepted, codes = 0, set()
    positions = range(0, len(packet), max(1, len(packet) // 40))
    for i in positions:
        changed = bytearray(packet)
        changed[i] = (changed[i] + 1) % 128 or 65
        try:
            open_packet(bytes(changed), "p.json", "p1", SEALING[0], ORG[1])
        except DeviceError as exc:
            codes.add(exc.code)
            continue
        accepted += changed != packet
    assert codes <= {"handover-packet-tampered", "handover-wrong-key"}
    assert accepted == 0, f"silently accepted {accepted} of {len(positions)}"


def _rules() -> list[tuple[str, Any]]:
    from fieldscreen.forms.library import builtin_forms

    return [(f.id, r) for f in builtin_forms().values() for r in f.rules if r.concerns]


def _service_recipients() -> dict[str, str]:
    from fieldscreen.forms.library import builtin_list

    return {c.name: str(c.extra.get("recipient") or "") for c in builtin_list("service_types")}


def _may_go(
    code: str,
    raised: list[tuple[str, Any]],
    risk: dict[str, dict[str, Any]],
    recipient: str,
    services: dict[str, str],
) -> bool:
    """Whether a raised rule names ``code`` and refers the child to a service of
    ``recipient`` that the child did not decline in its form (or a supervisor released)."""
    for form_id, rule in raised:
        entry = risk[form_id]
        declined = set(entry["declines"]) - {x["name"] for x in entry["releases"]}
        if code in rule.concerns and any(
            services.get(s) == recipient and s not in declined for s in rule.referrals
        ):
            return True
    return False


def _values(doc: Any) -> Iterator[str]:
    """Every string anywhere in ``doc`` (keys and values)."""
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for key, value in doc.items():
            yield str(key)
            yield from _values(value)
    elif isinstance(doc, (list, tuple)):
        for value in doc:
            yield from _values(value)


def test_a_concern_the_child_did_not_consent_to_share_never_reaches_the_partner(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The attacker is the partner, reading everything its packet holds. Over 400 random
    cases (raised rules drawn from the built-in forms' own, the services the child declined
    in each form, a supervisor's releases, every recipient, consent or a coordinator's
    release), a concern goes only when a raised rule that names it refers the child to a
    service of the partner's recipient that the child did not decline: any other concern of
    the case card, and the trafficking fields without a trafficking concern, never appear in
    the opened packet or its summary text."""
    from fieldscreen.forms.library import builtin_list
    from fieldscreen.handover import summary_text

    rules, services = _rules(), _service_recipients()
    labels = {c.name: c.label for c in builtin_list("protection_concerns")}
    codes = set(labels)
    rng = random.Random(20261204)
    offered = shared = kept_out = leaks = trafficking_leaks = 0
    for _ in range(400):
        recipient = rng.choice(RECIPIENTS)
        raised = rng.sample(rules, rng.randint(0, 6))
        risk: dict[str, dict[str, Any]] = {}
        for form_id, rule in raised:
            entry = risk.setdefault(form_id, {"flags": [], "declines": [], "releases": []})
            entry["flags"].append(rule.name)
            for service in rule.referrals:
                if rng.random() < 0.3:
                    entry["declines"].append(service)
                    if rng.random() < 0.2:
                        entry["releases"].append(
                            {"name": service, "reason": "r", "supervisor": "s"}
                        )
        strays = rng.sample(sorted(codes), 2)  # on the card, raised by no rule here
        concerns = list(dict.fromkeys([c for _, r in raised for c in r.concerns] + strays))
        card = {
            **CARD,
            "concerns": concerns,
            "protection_status": "accompanied",
            "trafficking_concern": "presumptive",
            "return_trafficking_risk": "high",
        }
        consent = {r: rng.choice(("yes", "no")) for r in RECIPIENTS}
        record = {**_record(consent, []), "risk": risk}
        partner = Partner(
            "p1", {"en": "P"}, recipient, rng.choice(("en", "es")), "", SEALING[1], SIGNING[1]
        )
        content = packet_content(record, card, partner, "a" * 32, release_reason="life at risk")
        packet = seal_vouched(content, partner, "dev1", SIGNING)
        opened, _ = open_packet(packet, "p.json", "p1", SEALING[0], ORG[1])

        text = summary_text(opened)
        seen = set(_values(opened)) | set(text.replace(",", " ").split())
        offered += len(concerns)
        shared += len(opened["summary"].get("concerns", []))
        for code in concerns:
            if _may_go(code, raised, risk, recipient, services):
                continue
            kept_out += 1
            label = labels[code].get(opened["language"]) or ""
            leaks += code in seen or (len(label) >= 12 and label in text)
        if not _TRAFFICKING_CODES & set(opened["summary"].get("concerns", [])):
            trafficking_leaks += "presumptive" in seen or "high" in seen
        assert all(
            _may_go(c, raised, risk, recipient, services)
            for c in opened["summary"].get("concerns", [])
        )
    with capsys.disabled():
        print(
            f"\nhandover concerns: {offered} on the cards, {shared} shared, {kept_out} kept out, "
            f"leaks {leaks}, trafficking fields without a trafficking concern {trafficking_leaks}"
        )
    assert leaks == 0
    assert trafficking_leaks == 0
    assert shared  # both happened
    assert kept_out


_TRAFFICKING_CODES = {"trafficked_presumed", "at_risk_trafficking"}


def test_the_bilingual_summary_says_what_the_packet_holds_in_both_languages() -> None:
    """The summary a partner without the software reads (the PDF's text): the same packet in
    its language and the other, tiers, concerns and answers by their labels, and nothing of
    the concerns the consent keeps out."""
    from dataclasses import replace

    from fieldscreen.forms.library import builtin_list
    from fieldscreen.handover import summary_html

    services = _service_recipients()
    form_id, rule = next(
        (f, r) for f, r in _rules() if any(services.get(s) == "health" for s in r.referrals)
    )
    kept_out = next(
        c for c in ("lgbtiq_risk", "organised_crime_association") if c not in rule.concerns
    )
    record = {
        **_record(dict.fromkeys(RECIPIENTS, "yes"), []),
        "risk": {form_id: {"flags": [rule.name], "declines": [], "releases": []}},
    }
    card = {**CARD, "tier": "T0", "concerns": [*rule.concerns, kept_out]}
    partner = Partner("p1", {"en": "P"}, "health", "es", "HN", SEALING[1], SIGNING[1])
    spanish = packet_content(record, card, partner, "a" * 32, site="tij1")
    english = packet_content(
        record, card, replace(partner, language="en"), "a" * 32, site="tij1",
        packet_id=spanish["packet_id"],
    )  # fmt: skip
    page = summary_html([spanish, english])
    assert page.index("Traspaso del caso AAAAAA") < page.index("Case handover AAAAAA")
    assert "Actuar ya" in page
    assert "Act now" in page
    labels = {c.name: c.label for c in builtin_list("protection_concerns")}
    for concern in rule.concerns:
        assert html.escape(labels[concern].get("en") or "") in page
        assert html.escape(labels[concern].get("es") or "") in page
    assert html.escape(labels[kept_out].get("en") or "") not in page
    assert html.escape(labels[kept_out].get("es") or "") not in page
    assert "CANARY" not in page
    for row in english["return_plan"]:
        assert html.escape(str(row["label"])) in page
