"""The benchmark harness itself: the arms' interleaving, the per-round ratios and their spread,
the warnings of a figure too wide to judge, and P1's record generator. No timing is asserted."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from benchmarks.harness import (
    WIDE,
    Result,
    Sample,
    Spread,
    paired_ratios,
    ratio_result,
    round_order,
    table,
    time_interleaved,
    warnings,
)
from benchmarks.vault_common import realistic_record


def test_each_round_reverses_the_order_of_the_one_before() -> None:
    assert [round_order(2, r) for r in range(4)] == [[0, 1], [1, 0], [0, 1], [1, 0]]
    assert round_order(3, 0) == [0, 1, 2]
    assert round_order(3, 1) == [2, 1, 0]


def test_arms_run_interleaved_after_their_warm_up() -> None:
    calls: list[str] = []

    def arm(name: str, figure: float) -> Any:
        def run() -> float:
            calls.append(name)
            return figure

        return run

    a, b = time_interleaved([arm("A", 2.0), arm("B", 1.0)], runs=4, warmup=1, ops=10)
    assert calls == ["A", "B", "A", "B", "B", "A", "A", "B", "B", "A"]
    # The arms' own measurements are kept, one per round, and CPU is measured every round.
    assert a.values == (2.0,) * 4
    assert b.values == (1.0,) * 4
    assert len(a.cpu) == 4
    assert len(b.cpu) == 4
    assert a.ops == 10
    assert a.cpu_us_per_op is not None
    assert a.cpu_us_per_op >= 0


def test_wall_time_is_used_when_an_arm_returns_nothing() -> None:
    (only,) = time_interleaved([lambda: None], runs=3, warmup=0)
    assert len(only.values) == 3
    assert all(v >= 0 for v in only.values)


def test_rates_keep_the_rounds_and_the_cpu() -> None:
    seconds = Sample((2.0, 4.0), cpu=(0.5, 1.5), ops=100)
    rates = seconds.rates()
    assert rates.values == (50.0, 25.0)
    assert rates.cpu == seconds.cpu
    assert rates.cpu_us_per_op == pytest.approx(10_000)
    assert Sample((1.0,)).cpu_us_per_op is None


def test_the_spread_of_per_round_ratios() -> None:
    spread = Spread((0.4, 0.5, 0.6, 0.5, 0.5))
    assert spread.median == 0.5
    assert spread.quartiles == pytest.approx((0.5, 0.5))
    assert spread.relative_iqr == pytest.approx(0.0)
    assert not spread.wide
    loose = Spread((0.2, 0.4, 0.5, 0.6, 0.9))
    assert loose.quartiles == pytest.approx((0.4, 0.6))
    assert loose.relative_iqr == pytest.approx(0.4)
    assert loose.wide
    assert loose.straddles(0.5)
    assert not loose.straddles(0.7)
    assert not loose.straddles(0.3)
    assert Spread((0.5,)).wide  # one round says nothing of its spread
    data = loose.to_json()
    assert data["rounds"] == 5
    assert data["min"] == 0.2
    assert data["max"] == 0.9


def test_ratios_are_paired_round_by_round() -> None:
    spread = paired_ratios([10.0, 30.0, 20.0], [20.0, 30.0, 10.0])
    assert spread is not None
    assert spread.ratios == (0.5, 1.0, 2.0)
    assert paired_ratios([1.0, 2.0], [1.0]) is None
    assert paired_ratios([1.0], [1.0]) is None


def test_the_ratio_is_the_median_of_the_rounds_not_of_the_medians() -> None:
    # Round by round the measured arm is half the baseline, while both drift tenfold: the
    # ratio of medians would say 0.2 (the drift), the paired ratio says 0.5.
    measured = Sample((1.0, 10.0, 100.0, 1.0, 10.0))
    baseline = Sample((2.0, 20.0, 200.0, 50.0, 50.0))
    result = ratio_result(
        id="PX",
        name="paired",
        measured=measured,
        baseline=baseline,
        unit="s",
        bar=0.6,
        direction="at_most",
    )
    assert result.ratio == 0.5
    assert result.passed
    assert result.spread is not None
    assert result.spread.ratios[3] == pytest.approx(0.02)


def test_a_single_measurement_falls_back_to_the_ratio_of_medians() -> None:
    result = ratio_result(
        id="PX",
        name="once",
        measured=Sample((3.0,)),
        baseline=Sample((4.0,)),
        unit="MiB",
        bar=1.2,
        direction="at_most",
    )
    assert result.ratio == 0.75
    assert result.spread is None
    assert result.warnings() == []


def _result(ratios: tuple[float, ...], bar: float) -> Result:
    return ratio_result(
        id="PX",
        name="figure",
        measured=Sample(ratios, cpu=(0.001,) * len(ratios), ops=1),
        baseline=Sample((1.0,) * len(ratios), cpu=(0.0005,) * len(ratios), ops=1),
        unit="records/s",
        bar=bar,
        direction="at_least",
    )


def test_a_steady_figure_clear_of_its_bar_raises_no_warning() -> None:
    steady = _result((0.60, 0.61, 0.59, 0.60, 0.62, 0.60), bar=0.5)
    assert steady.warnings() == []
    assert steady.cpu_us == pytest.approx(1000)
    assert steady.baseline_cpu_us == pytest.approx(500)


def test_the_interval_of_the_median_narrows_with_more_rounds() -> None:
    # Few rounds: the lowest to the highest; many: order statistics around the median.
    assert Spread((0.3, 0.5, 0.9)).median_interval == (0.3, 0.9)
    ratios = tuple(0.3 + 0.006 * i for i in range(101))  # 0.3 ... 0.9, median 0.6
    low, high = Spread(ratios).median_interval
    assert low == pytest.approx(0.3 + 0.006 * 40)
    assert high == pytest.approx(0.3 + 0.006 * 60)


def test_a_figure_too_wide_to_judge_is_warned_about() -> None:
    # Six rounds from 0.3 to 1.2: the median's interval holds the bar, either verdict.
    wide = _result((0.3, 0.5, 0.9, 0.4, 1.2, 0.6), bar=1.0)
    assert wide.spread is not None
    assert wide.spread.relative_iqr > WIDE
    (line,) = wide.warnings()
    assert "too wide to judge" in line
    assert "PX figure" in line
    assert warnings([wide, _result((1.0, 1.0, 1.0), bar=0.5)]) == [line]


def test_a_steady_figure_close_to_its_bar_cannot_be_judged_either() -> None:
    close = _result((0.48, 0.49, 0.50, 0.51, 0.52, 0.50), bar=0.5)
    assert close.spread is not None
    assert close.spread.relative_iqr < WIDE
    (line,) = close.warnings()
    assert "too wide to judge" in line


def test_a_wide_figure_clear_of_its_bar_is_called_unsteady() -> None:
    # As wide, but every round is below the bar: the verdict holds, the figure does not.
    unsteady = _result((0.3, 0.5, 0.9, 0.4, 1.2, 0.6), bar=2.0)
    (line,) = unsteady.warnings()
    assert "unsteady" in line
    assert "too wide to judge" not in line


def test_many_rounds_judge_a_figure_whose_rounds_straddle_the_bar() -> None:
    # The bar 0.5 lies inside the rounds' middle half (0.45-0.75) but well below the median's
    # interval (0.54-0.66): enough rounds say the bar is met, though the figure is unsteady.
    ratios = tuple(0.3 + 0.006 * i for i in range(101))
    result = _result(ratios, bar=0.5)
    assert result.passed
    (line,) = result.warnings()
    assert "unsteady" in line
    assert "verdict holds" in line
    # A figure without a ratio bar is judged by its interval's width alone: here 20 % of the
    # median, too wide; a hundred rounds within ±8 % of 0.6 make one of 3 %, fine.
    result.bar_ratio = None
    assert "too wide to judge" in result.warnings()[0]
    narrow = _result(tuple(0.55 + 0.001 * i for i in range(101)), bar=0.5)
    narrow.bar_ratio = None
    assert narrow.warnings() == []


def test_the_table_and_the_json_carry_the_spread_and_the_cpu() -> None:
    wide = _result((0.3, 0.5, 0.9, 0.4, 1.2, 0.6), bar=1.0)
    text = table([wide])
    header, row = text.splitlines()
    assert "spread" in header
    assert "cpu µs/op" in header
    assert " !" in row
    assert "1,000 / 500" in row
    data = json.loads(json.dumps(wide.to_json()))
    assert data["spread"]["rounds"] == 6
    assert data["cpu_us"] == 1000.0
    assert "bar_ratio" not in data
    assert data["pass"] is False


def _slow_record(seed: int, size: int = 5000) -> dict[str, Any]:
    """The generator as it was: the whole record re-encoded after every answer."""
    rng = random.Random(seed)
    words = ["si", "no", "madre", "hermano", "frontera", "albergue", "escuela", "miedo", "salud"]
    record: dict[str, Any] = {}
    n = 0
    while len(json.dumps(record)) < size:
        n += 1
        kind = n % 4
        if kind == 0:
            record[f"q{n}"] = rng.choice(["yes", "no", "unknown", "refused"])
        elif kind == 1:
            record[f"q{n}"] = rng.randint(0, 99)
        elif kind == 2:
            record[f"q{n}"] = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
        else:
            record[f"q{n}"] = [rng.choice(["a", "b", "c", "d"]) for _ in range(3)]
    return record


@pytest.mark.parametrize("seed", [0, 1, 7, 1234])
def test_the_cheap_record_generator_makes_the_same_records(seed: int) -> None:
    for size in (5000, 300):
        record = realistic_record(seed, size)
        assert record == _slow_record(seed, size)
        assert len(json.dumps(record)) >= size


def test_growth_goes_to_200k_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import harness

    monkeypatch.setattr(harness, "QUICK", False)
    monkeypatch.setattr(harness, "LARGE", False)
    assert harness.growth_sizes() == (1_000, 10_000, 50_000)
    monkeypatch.setattr(harness, "LARGE", True)
    assert harness.growth_sizes() == (1_000, 10_000, 50_000, 200_000)
    monkeypatch.setattr(harness, "QUICK", True)
    assert harness.growth_sizes((500, 2000)) == (500, 2000)  # a quick run stays short
