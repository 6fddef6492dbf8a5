"""A recipient export never carries a child whose screening withholds that recipient: a child
who fears the state is left out of the consulate's export although form A said yes."""

from __future__ import annotations

from typing import Any

from fieldscreen.forms import Session
from fieldscreen.forms.library import builtin_forms
from fieldscreen.reports.export import OpenedRecord, _consent, _read_payload, parse_profile
from fieldscreen.reports.form_versions import FormCatalogue

CONTEXT = {"site": "site-a", "jurisdiction": "MX", "staff": "staff-01", "role": "specialist"}


def _payload(feared: list[str], release: bool = False) -> dict[str, Any]:
    forms = builtin_forms()
    consent = Session.start(forms["fs_consent"], "en", CONTEXT)
    for name in ("share_consulate", "share_legal"):
        consent.set_answer(name, "yes")
    intake = Session.start(
        forms["fs_intake"], "en", CONTEXT, {"share_consulate": "yes", "share_legal": "yes"}
    )
    intake.set_answer("harm_if_return", "yes")
    intake.set_answer("feared_agent", feared)
    if release:
        intake.release("consulate", "Documents only; the child agrees", "sup-01")
    state = {"forms": {"fs_consent": consent.to_state(), "fs_intake": intake.to_state()}}
    return {"content": {"state": state}}


def _record(payload: dict[str, Any]) -> OpenedRecord:
    read = _read_payload(payload, FormCatalogue.of(builtin_forms()))
    return OpenedRecord(
        record_id="r1",
        kind="screening",
        device_id="d1",
        created="2026-11-28",
        form_version="x",
        values=read["values"],
        consent=_consent(read["values"], read["withheld"]),
    )


def test_a_withheld_recipient_is_not_consented_in_the_export() -> None:
    consulate, legal = parse_profile("recipient:consulate"), parse_profile("recipient:legal")
    fears_police = _record(_payload(["police_military_officials"]))
    assert fears_police.consent["share_consulate"] == "withheld"
    assert not consulate.admits(fears_police)
    assert legal.admits(fears_police)
    fears_gangs = _record(_payload(["gang_org_crime"]))
    assert consulate.admits(fears_gangs)
    released = _record(_payload(["police_military_officials"], release=True))
    assert consulate.admits(released)
