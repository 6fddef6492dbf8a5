"""The coordinator report: never a figure under the threshold; the aggregate record of every
built-in form carries no field marked sensitive or identifying."""

from __future__ import annotations

import json
import random
import re

import pytest

from fieldscreen.errors import KnownError
from fieldscreen.forms.library import builtin_forms
from fieldscreen.reports.aggregates import parse_aggregate
from fieldscreen.reports.coordinator import (
    REPORT_DIMENSIONS,
    coordinator_report,
    normalise,
    screening_aggregate,
)
from tests.integration.export_support import answer

RUNS = 40


def _aggregates(rng: random.Random, n: int) -> list[tuple[dict[str, object], str, str]]:
    out: list[tuple[dict[str, object], str, str]] = []
    for _ in range(n):
        aggregate: dict[str, object] = {
            "tier": rng.choice(["T0", "T1", "T2", "T3", "T4"]),
            "concern": rng.sample(["unaccompanied", "fear_of_return", "gbv", "trafficking"], 2),
            "age_band": rng.choice(["0_5", "6_11", "12_14", "15_17"]),
            "sex": rng.choice(["female", "male", "declined"]),
            "nationality": rng.choice(["HN", "GT SV", ["VE"], "CO,EC"]),
        }
        day = f"2026-{rng.randint(9, 11):02d}-{rng.randint(1, 28):02d}"
        out.append((aggregate, day, rng.choice(["s1", "s2", "s3"])))
    return out


def test_a_report_never_shows_a_cell_under_the_threshold() -> None:
    rng = random.Random(48)
    shown = small_cells_in_data = 0
    violations = 0
    for run in range(RUNS):
        threshold = rng.choice([3, 5, 10])
        data = _aggregates(rng, rng.randint(0, 120))
        report = coordinator_report(data, threshold=threshold)
        for table in report.tables.values():
            for value in [
                *table.cells.values(),
                *table.row_totals.values(),
                *table.column_totals.values(),
                table.total,
            ]:
                if value is not None:
                    shown += 1
                    violations += value < threshold
            small_cells_in_data += table.suppressed
        for series in report.series.values():
            violations += sum(v < threshold for v in series.values)
        if report.total is not None:
            violations += report.total < threshold
        # the text and the JSON say nothing more than the tables
        numbers = [int(n) for n in re.findall(r"(?<![<\w-])\d+(?![\w-])", report.text())]
        violations += sum(n < threshold for n in numbers[1:] if n not in (threshold,))
        assert json.loads(json.dumps(report.to_json()))["threshold"] == threshold, run
    assert violations == 0
    assert shown > 500
    assert small_cells_in_data > 50  # the data really had cells to hide


def test_the_engines_aggregates_are_counted_and_bad_ones_never_shown() -> None:
    record = normalise(
        {"tier": "T1", "concern": ["gbv"], "nationality": "HN GT"}, "2026-11-27", "s1"
    )
    assert record.week == "2026-W48"
    assert record.nationality == ("GT", "HN")
    assert record.age_band == "unknown"
    bad = [({"tier": "T9"}, "2026-11-27", "s1"), ({"tier": "T1", "name": "x"}, "nope", "s1")]
    good = [({"tier": "T1"}, "2026-11-27", "s1")] * 6
    report = coordinator_report(bad + good)
    assert (report.counted, report.not_countable) == (6, 2)
    with pytest.raises(KnownError):
        coordinator_report(good, threshold=1)


@pytest.mark.parametrize("form_id", sorted(builtin_forms()))
def test_the_aggregate_record_of_every_builtin_form_holds_no_sensitive_field(form_id: str) -> None:
    forms = builtin_forms()
    form = forms[form_id]
    marked = {f.name: f for f in form.fields.values() if f.aggregate}
    assert all(f.sensitivity == "low" for f in marked.values()), form_id
    rng = random.Random(form_id)
    canaries = 0
    for n in range(5):
        consent = answer(forms["fs_consent"], rng, f"a{n}", instances=1)
        session = answer(form, rng, f"a{n}", consent.values_json(), instances=1)
        record = session.aggregate_record()
        allowed = {f.aggregate for f in marked.values()} | {"tier", "concern"}
        assert set(record) <= allowed
        text = json.dumps(record)
        canaries += text.count("CANARY")
        combined = screening_aggregate([consent.aggregate_record(), record], "2026-11-27")
        assert parse_aggregate(combined).to_json() == combined
        assert set(combined) == {
            "tier",
            "concerns",
            "age_band",
            "sex",
            "nationality",
            "site",
            "week",
        }
    assert canaries == 0


def test_every_dimension_has_a_chart_series() -> None:
    report = coordinator_report(_aggregates(random.Random(1), 200))
    assert set(report.series) == set(REPORT_DIMENSIONS)
    weeks = report.series["week"].labels
    assert list(weeks) == sorted(weeks)
    tiers = report.series["tier"].values
    assert list(tiers) == sorted(tiers, reverse=True)


def test_the_view_never_shows_a_count_under_five_whatever_the_report_says() -> None:
    from fieldscreen.reports.report_view import report_view

    data = _aggregates(random.Random(4), 80)
    lax = coordinator_report(data, threshold=2).to_json()
    view = report_view(lax)
    assert view.threshold == 5
    texts = view.texts()
    assert any(t == "<5" for t in texts)
    assert all(t == "<5" or int(t) >= 5 for t in texts)
    strict = report_view(coordinator_report(data, threshold=10).to_json())
    assert strict.threshold == 10
    assert all(t == "<10" or int(t) >= 10 for t in strict.texts())
    with pytest.raises(ValueError, match="coordinator report"):
        report_view({"tables": {}})


def test_the_filter_narrows_what_is_counted() -> None:
    from fieldscreen.reports.coordinator import ReportFilter, weeks_and_sites

    data = _aggregates(random.Random(8), 200)
    weeks, sites = weeks_and_sites(data)
    assert sites == ["s1", "s2", "s3"]
    wanted = ReportFilter(weeks[3], weeks[6], frozenset({"s2"}))
    kept = [
        r
        for r in (normalise(a, d, s) for a, d, s in data)
        if r.site == "s2" and weeks[3] <= r.week <= weeks[6]
    ]
    assert coordinator_report(data, keep=wanted).counted == len(kept)
    assert wanted.to_params() == {"from_week": weeks[3], "to_week": weeks[6], "site": ["s2"]}
    with pytest.raises(KnownError):
        ReportFilter("2026-48")
