from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldscreen.errors import KnownError
from fieldscreen.reports.aggregates import (
    DIMENSIONS,
    AggregateRecord,
    CountTable,
    build_report,
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
        {"match": ["Maria 2010-01-01"]},  # match tokens are tokens, never the identifiers
        {"match": ["nd-" + "0" * 32, "nd-" + "1" * 32]},
        {"match_consent": True},  # consent without tokens
        {"match": ["nd-" + "0" * 32], "match_consent": "yes"},
    ],
)
def test_anything_but_plain_codes_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(KnownError) as caught:
        parse_aggregate({**GOOD, **change})
    assert caught.value.code == "aggregate-invalid"


def test_match_tokens_ride_beside_the_counts_and_are_not_counted() -> None:
    tokens = ["fdc-" + "a" * 32, "nd-" + "b" * 32]
    record = parse_aggregate({**GOOD, "match": tokens, "match_consent": True})
    assert record == parse_aggregate(GOOD)


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


def _rank(rows: list[list[Fraction]]) -> int:
    """Rank over the rationals by Gaussian elimination."""
    matrix = [list(r) for r in rows]
    rank, cols = 0, len(matrix[0]) if matrix else 0
    for col in range(cols):
        pivot = next((i for i in range(rank, len(matrix)) if matrix[i][col] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for i in range(len(matrix)):
            if i != rank and matrix[i][col] != 0:
                factor = matrix[i][col] / matrix[rank][col]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[rank], strict=True)]
        rank += 1
    return rank


def recoverable_cells(tables: dict[str, CountTable]) -> list[object]:
    """Hidden values that the published numbers determine exactly (an attacker's linear algebra).

    Unknowns are the hidden cells of every table (a one-way cell is also the margin of the
    two-way tables); equations are every additive line whose total is published or unknown.
    """
    unknowns: list[object] = []
    index: dict[object, int] = {}

    def var(key: object) -> int:
        if key not in index:
            index[key] = len(unknowns)
            unknowns.append(key)
        return index[key]

    equations: list[tuple[dict[object, int], object]] = []  # coefficients by key, rhs key or int
    for name, table in tables.items():
        if len(table.dimensions) == 1:
            (d,) = table.dimensions
            if not DIMENSIONS[d] and table.total is not None:
                equations.append(({("1", d, k[0]): 1 for k in table.cells}, table.total))
        else:
            r, c = table.dimensions
            if not DIMENSIONS[c]:
                for rv in table.row_totals:
                    coeffs: dict[object, int] = {
                        ("2", name, k): 1 for k in table.cells if k[0] == rv
                    }
                    coeffs[("1", r, rv)] = -1
                    equations.append((coeffs, 0))
            if not DIMENSIONS[r]:
                for cv in table.column_totals:
                    coeffs = {("2", name, k): 1 for k in table.cells if k[1] == cv}
                    coeffs[("1", c, cv)] = -1
                    equations.append((coeffs, 0))

    def value(key: object) -> int | None:
        assert isinstance(key, tuple)
        kind, name, k = key
        if kind == "1":
            return tables[name].cells[(k,)]
        return tables[name].cells[k]

    rows: list[dict[int, Fraction]] = []
    for coeffs, _rhs in equations:
        row: dict[int, Fraction] = {}
        for key, coef in coeffs.items():
            if value(key) is None:
                row[var(key)] = Fraction(coef)
        if row:
            rows.append(row)
    n = len(unknowns)
    if n == 0:
        return []
    dense = [[r.get(i, Fraction(0)) for i in range(n)] for r in rows]
    base = _rank(dense) if dense else 0
    found = []
    for i, key in enumerate(unknowns):
        probe = [Fraction(1) if j == i else Fraction(0) for j in range(n)]
        if _rank([*dense, probe]) == base:  # e_i lies in the row space: x_i is determined
            found.append(key)
    return found


def test_the_attack_check_finds_a_lone_hidden_cell() -> None:
    """Control: the linear-algebra check catches what plain primary suppression leaves open."""
    table = CountTable(dimensions=("tier",), threshold=5, total=12)
    table.cells = {("T0",): None, ("T1",): 10}  # 12 - 10 gives T0 away
    assert recoverable_cells({"tier": table}) == [("1", "tier", "T0")]


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
    tables = build_report(records, dims, [(dims[0], dims[1])], threshold)
    for table in tables.values():
        assert all(v >= threshold for v in table.shown().values())
    assert recoverable_cells(tables) == []
    # The single-table helpers publish exactly what the joint report does.
    joint = build_report(records, dims, [(dims[0], dims[1])], threshold)
    assert crosstab(records, dims[0], dims[1]).cells == joint[f"{dims[0]}×{dims[1]}"].cells
