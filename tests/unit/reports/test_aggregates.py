from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldscreen.errors import KnownError
from fieldscreen.reports.aggregates import (
    DIMENSIONS,
    AggregateRecord,
    CountTable,
    count,
    crosstab,
    parse_aggregate,
)

GOOD = {
    "tier": "T1",
    "concerns": ["unaccompanied", "fear_of_return"],
    "age_band": "15_17",
    "sex": "female",
    "nationality": ["HN"],
    "site": "mx-tapachula",
    "week": "2026-W48",
}


def test_a_well_formed_record_parses() -> None:
    record = parse_aggregate(GOOD)
    assert record.concerns == ("fear_of_return", "unaccompanied")
    assert parse_aggregate(record.to_json()) == record


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Maria"},  # an extra field: nothing identifying may ride along
        {"tier": "T9"},
        {"age_band": "16"},
        {"week": "2026-48"},
        {"site": "a site with spaces"},
        {"concerns": ["she said her uncle hurt her"]},
        {"concerns": "unaccompanied"},
        {"nationality": ["HN"] * 30},
    ],
)
def test_anything_but_plain_codes_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(KnownError) as caught:
        parse_aggregate({**GOOD, **change})
    assert caught.value.code == "aggregate-invalid"


def test_missing_field_is_refused() -> None:
    data = dict(GOOD)
    del data["sex"]
    with pytest.raises(KnownError):
        parse_aggregate(data)


def make(tier: str, site: str = "s1", concerns: tuple[str, ...] = ()) -> AggregateRecord:
    return AggregateRecord(tier, concerns, "12_14", "male", ("GT",), site, "2026-W01")


def test_small_cells_are_hidden_and_a_lone_hidden_cell_gets_a_partner() -> None:
    records = [make("T1")] * 10 + [make("T2")] * 7 + [make("T0")] * 2
    table = count(records, "tier")
    assert table.total == 19
    assert table.cells[("T0",)] is None  # 2 < 5
    assert table.cells[("T2",)] is None  # else 19 - 10 - 7 reveals T0
    assert table.cells[("T1",)] == 10


def test_a_total_under_the_threshold_hides_everything() -> None:
    table = count([make("T1")] * 3, "tier")
    assert table.total is None
    assert all(v is None for v in table.cells.values())


def test_unknown_dimension_is_a_known_error() -> None:
    with pytest.raises(KnownError):
        count([], "name")


def _lines(table: CountTable) -> list[tuple[list[int | None], int | None]]:
    rows, cols = table.dimensions
    out = []
    if not DIMENSIONS[cols]:
        for r, margin in table.row_totals.items():
            out.append(([v for k, v in table.cells.items() if k[0] == r], margin))
    if not DIMENSIONS[rows]:
        for c, margin in table.column_totals.items():
            out.append(([v for k, v in table.cells.items() if k[1] == c], margin))
    return out


records_strategy = st.lists(
    st.builds(
        AggregateRecord,
        tier=st.sampled_from(["T0", "T1", "T2", "T3", "T4"]),
        concerns=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True).map(tuple),
        age_band=st.sampled_from(["0_5", "6_11", "12_14", "15_17"]),
        sex=st.sampled_from(["female", "male"]),
        nationality=st.lists(
            st.sampled_from(["MX", "GT", "HN"]), min_size=1, max_size=2, unique=True
        ).map(tuple),
        site=st.sampled_from(["s1", "s2", "s3"]),
        week=st.just("2026-W01"),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(records=records_strategy, dims=st.permutations(list(DIMENSIONS)).map(lambda p: p[:2]))
def test_no_displayed_cell_is_small_and_no_hidden_cell_is_recoverable(
    records: list[AggregateRecord], dims: list[str]
) -> None:
    threshold = 5
    one = count(records, dims[0], threshold)
    shown_one = [v for v in one.cells.values() if v is not None]
    assert all(v >= threshold for v in shown_one)
    if one.total is not None and not DIMENSIONS[dims[0]]:
        assert sum(v is None for v in one.cells.values()) != 1
    two = crosstab(records, dims[0], dims[1], threshold)
    assert all(v >= threshold for v in two.shown().values())
    violations = 0
    for cells, margin in _lines(two):
        hidden = sum(v is None for v in cells)
        if margin is not None and hidden == 1:
            violations += 1  # margin minus the shown cells would reveal the hidden one
        if margin is None and cells and hidden == 0:
            violations += 1  # the shown cells would add up to the hidden margin
    assert violations == 0
