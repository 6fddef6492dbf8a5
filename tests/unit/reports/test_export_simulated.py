"""A screening made by ``fieldscreen simulate`` is read by the central team's export exactly as
a real one: its sealed record has the app's shape (``state``, ``result``, ``tier``)."""

from __future__ import annotations

import random

from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.synthetic import synthetic_case
from fieldscreen.reports.export import _read_payload
from fieldscreen.reports.form_versions import FormCatalogue

CONTEXT = {"site": "tij1", "jurisdiction": "MX"}


def test_simulated_records_are_readable_by_the_export() -> None:
    forms = builtin_forms()
    catalogue = FormCatalogue.of(forms)
    rng = random.Random(20261128)
    unreadable = mismatched = 0
    for _ in range(25):
        case = synthetic_case(forms, rng, context=CONTEXT)
        record = case.record()
        try:
            read = _read_payload({"content": record}, catalogue)
        except ValueError:
            unreadable += 1
            continue
        for form_id, session in case.sessions.items():
            if read["values"][form_id] != session.values_json():
                mismatched += 1
        assert read["tier"] == record["tier"]
        assert read["versions"] == {fid: forms[fid].version for fid in case.sessions}
    assert (unreadable, mismatched) == (0, 0)
