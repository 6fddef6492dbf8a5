"""Timing, statistics and the results file shared by every benchmark."""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

RESULTS_DIR = Path(__file__).resolve().parent / "results"


#: ``FIELDSCREEN_BENCH_QUICK=1`` (``python -m benchmarks --quick``, ``make bench QUICK=1``): every
#: benchmark at a small size, to try the harness or a change in a minute; its figures judge
#: nothing and go to ``results/quick.json``, never to ``latest.json``.
QUICK = os.environ.get("FIELDSCREEN_BENCH_QUICK") == "1"

#: A figure is unsteady when the middle half of its per-round ratios spans more than this share
#: of their median (two whole runs are meant to agree within 15 %), and, without a bar, too
#: wide to judge when the 95 % interval of its median does.
WIDE = 0.15


def sized(full: int, quick: int) -> int:
    """``full``, or ``quick`` in a quick run."""
    return quick if QUICK else full


#: ``FIELDSCREEN_BENCH_200K=1``: the growth figures (P2, P5, P7) go on to 200,000 records, a
#: year of a busy site on a coordinator's laptop (tens of minutes more; off by default so that
#: ``make bench`` and ``make bench QUICK=1`` stay short).
LARGE = os.environ.get("FIELDSCREEN_BENCH_200K") == "1"


def growth_sizes(quick: tuple[int, ...] = (500, 2000)) -> tuple[int, ...]:
    """The record counts growth is printed at: 1,000 / 10,000 / 50,000, and 200,000 with
    ``FIELDSCREEN_BENCH_200K=1``; ``quick`` in a quick run."""
    if QUICK:
        return quick
    return (1_000, 10_000, 50_000) + ((200_000,) if LARGE else ())


@dataclass(frozen=True)
class Sample:
    """One figure measured once per round: the median, min and max, and, when known, the CPU
    seconds each round took (this process and the child processes it waited for) over ``ops``
    operations."""

    values: tuple[float, ...]
    cpu: tuple[float, ...] = ()
    ops: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def cpu_us_per_op(self) -> float | None:
        """Median CPU microseconds per operation over the rounds, or None when not measured."""
        return statistics.median(self.cpu) / self.ops * 1e6 if self.cpu else None

    def rates(self) -> Sample:
        """The same rounds as operations per second (``ops / seconds``), CPU kept."""
        return Sample(tuple(self.ops / v for v in self.values), self.cpu, self.ops)

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "runs": len(self.values),
        }
        if self.cpu:
            data["cpu_us_per_op"] = round(self.cpu_us_per_op or 0.0, 2)
        return data


@dataclass(frozen=True)
class Spread:
    """The per-round ratios of a figure: their median and how far they spread."""

    ratios: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def quartiles(self) -> tuple[float, float]:
        if len(self.ratios) < 2:
            return self.ratios[0], self.ratios[0]
        q1, _, q3 = statistics.quantiles(self.ratios, n=4, method="inclusive")
        return q1, q3

    @property
    def relative_iqr(self) -> float:
        """The middle half's width as a share of the median (0 with fewer than two rounds)."""
        q1, q3 = self.quartiles
        return (q3 - q1) / abs(self.median) if self.median else float("inf")

    @property
    def wide(self) -> bool:
        return len(self.ratios) < 2 or self.relative_iqr > WIDE

    def straddles(self, bar: float) -> bool:
        """Whether ``bar`` lies inside the middle half of the ratios: met in some rounds,
        missed in others."""
        q1, q3 = self.quartiles
        return q1 < bar < q3

    @property
    def median_interval(self) -> tuple[float, float]:
        """A 95 % confidence interval of the median, from the order statistics (no assumption
        on the ratios' distribution): ranks k and n-1-k with k = floor((n - 1.96 sqrt(n)) / 2),
        the lowest and the highest round when there are too few rounds for that."""
        ordered = sorted(self.ratios)
        n = len(ordered)
        k = math.floor((n - 1.96 * math.sqrt(n)) / 2)
        return (ordered[0], ordered[-1]) if k < 0 else (ordered[k], ordered[n - 1 - k])

    def to_json(self) -> dict[str, Any]:
        q1, q3 = self.quartiles
        return {
            "median": round(self.median, 4),
            "min": round(min(self.ratios), 4),
            "q1": round(q1, 4),
            "q3": round(q3, 4),
            "max": round(max(self.ratios), 4),
            "rounds": len(self.ratios),
            "relative_iqr": round(self.relative_iqr, 4),
            "median_ci95": [round(v, 4) for v in self.median_interval],
        }


def paired_ratios(measured: Sequence[float], baseline: Sequence[float]) -> Spread | None:
    """Round by round ``measured / baseline``; None unless both have the same rounds (two or
    more)."""
    if len(measured) != len(baseline) or len(measured) < 2:
        return None
    return Spread(tuple(m / b for m, b in zip(measured, baseline, strict=True)))


@dataclass
class Result:
    """One line of the results table and one object of ``results`` in the JSON."""

    id: str
    name: str
    value: float
    unit: str
    baseline: float | None
    ratio: float | None
    bar: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    #: The per-round ratios behind ``ratio`` (None for a figure measured once or absolute).
    spread: Spread | None = None
    #: The bar's number when the bar is a ratio (to say whether the spread straddles it).
    bar_ratio: float | None = None
    #: CPU microseconds per operation: the measured arm and the baseline arm.
    cpu_us: float | None = None
    baseline_cpu_us: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pass"] = data.pop("passed")
        data.pop("bar_ratio")
        data["spread"] = self.spread.to_json() if self.spread else None
        for key in ("cpu_us", "baseline_cpu_us"):
            if data[key] is not None:
                data[key] = round(data[key], 2)
        return data

    def warnings(self) -> list[str]:
        """What keeps this figure from being judged in this run (empty when nothing does).

        Too wide to judge: the 95 % interval of the median ratio holds the bar (this run
        cannot say whether it is met), or, for a figure without a ratio bar, spans more than
        WIDE of the median. Unsteady: the middle half of the per-round ratios spans more than
        WIDE of their median, while the verdict holds.
        """
        if self.spread is None:
            return []
        s = self.spread
        q1, q3 = s.quartiles
        low, high = s.median_interval
        interval = f"the median {s.median:.3g}, its 95 % interval {low:.3g}-{high:.3g}"
        out = []
        if self.bar_ratio is not None and low <= self.bar_ratio <= high:
            out.append(
                f"{self.id} {self.name}: {interval}, holds the bar {self.bar_ratio:g}x: too "
                "wide to judge; run it again on a quieter machine"
            )
        elif self.bar_ratio is None and (high - low) > WIDE * abs(s.median):
            out.append(
                f"{self.id} {self.name}: {interval}, spans more than {WIDE:.0%} of it: too "
                "wide to judge; run it again on a quieter machine"
            )
        elif s.relative_iqr > WIDE:
            verdict = "the verdict holds" if self.bar_ratio is not None else "the median holds"
            out.append(
                f"{self.id} {self.name}: unsteady, the per-round ratios' middle half "
                f"{q1:.3g}-{q3:.3g} spans {s.relative_iqr:.0%} of the median, more than "
                f"{WIDE:.0%}; {verdict} ({interval})"
            )
        return out


def ratio_result(
    *,
    id: str,
    name: str,
    measured: Sample,
    baseline: Sample,
    unit: str,
    bar: float,
    direction: Literal["at_most", "at_least"],
    details: dict[str, Any] | None = None,
) -> Result:
    """A result whose pass/fail is ``measured / baseline`` against ``bar``.

    When both samples hold the same rounds (interleaved arms), the ratio is the median of the
    per-round ratios and their spread is kept; otherwise the ratio of the medians.
    """
    spread = paired_ratios(measured.values, baseline.values)
    ratio = spread.median if spread else measured.median / baseline.median
    passed = ratio <= bar if direction == "at_most" else ratio >= bar
    sign = "≤" if direction == "at_most" else "≥"
    return Result(
        id=id,
        name=name,
        value=measured.median,
        unit=unit,
        baseline=baseline.median,
        ratio=round(ratio, 3),
        bar=f"{sign} {bar}×",
        passed=passed,
        details={"measured": measured.summary(), "baseline": baseline.summary(), **(details or {})},
        spread=spread,
        bar_ratio=bar,
        cpu_us=measured.cpu_us_per_op,
        baseline_cpu_us=baseline.cpu_us_per_op,
    )


def cpu_now() -> float:
    """CPU seconds so far of this process and of the child processes it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def round_order(arms: int, round_index: int) -> list[int]:
    """The order the arms run in one round: A B ..., then reversed the next round
    (A B, B A, A B, ...), so a drift within a round hits every arm alike over two rounds."""
    order = list(range(arms))
    return order[::-1] if round_index % 2 else order


def time_interleaved(
    subjects: Sequence[Callable[[], float | None]],
    runs: int,
    warmup: int = 1,
    *,
    ops: int = 1,
) -> list[Sample]:
    """Time each callable once per round for ``runs`` rounds, the arms interleaved (see
    :func:`round_order`), so the machine's drift hits all alike; CPU is measured beside.

    A callable may return its own measurement (seconds); otherwise its wall time is used.
    ``ops`` is how many operations one call performs (for CPU per operation and rates).
    """
    for _ in range(warmup):
        for subject in subjects:
            subject()
    timings: list[list[float]] = [[] for _ in subjects]
    cpu: list[list[float]] = [[] for _ in subjects]
    for round_index in range(runs):
        for index in round_order(len(subjects), round_index):
            cpu_start = cpu_now()
            start = time.perf_counter()
            own = subjects[index]()
            took = time.perf_counter() - start
            cpu[index].append(cpu_now() - cpu_start)
            timings[index].append(own if own is not None else took)
    return [Sample(tuple(t), tuple(c), ops) for t, c in zip(timings, cpu, strict=True)]


def run_process(args: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall time of a whole process; raises if it fails."""
    start = time.perf_counter()
    subprocess.run(args, env={**os.environ, **(env or {})}, check=True, capture_output=True)
    return time.perf_counter() - start


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=RESULTS_DIR.parent.parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def machine() -> dict[str, Any]:
    """Where and on what the figures were measured: the interpreter, the machine, the code's
    commit, and the load average (1, 5 and 15 minutes) as the results are written, which says
    how busy a shared machine was."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": _commit(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def results_path() -> Path:
    """``results/latest.json``, or ``results/quick.json`` in a quick run."""
    return RESULTS_DIR / ("quick.json" if QUICK else "latest.json")


def write_results(results: list[Result], path: Path | None = None) -> Path:
    """Merge ``results`` into the results file (replacing entries with the same id)."""
    path = path or results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    previous: list[dict[str, Any]] = []
    if path.exists():
        try:
            previous = json.loads(path.read_text())["results"]
        except (ValueError, KeyError):
            previous = []
    fresh_ids = {r.id for r in results}
    merged = [r for r in previous if r.get("id") not in fresh_ids]
    merged.extend(r.to_json() for r in results)
    merged.sort(key=lambda r: (r["id"], r["name"]))
    path.write_text(json.dumps({"machine": machine(), "results": merged}, indent=2) + "\n")
    return path


def _spread_cell(r: Result) -> str:
    if r.spread is None:
        return "-"
    q1, q3 = r.spread.quartiles
    flag = " !" if r.warnings() else ""
    return f"{q1:.3g}-{q3:.3g} ({r.spread.relative_iqr:.0%}){flag}"


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _cpu_cell(r: Result) -> str:
    if r.cpu_us is None:
        return "-"
    if r.baseline_cpu_us is None:
        return _us(r.cpu_us)
    return f"{_us(r.cpu_us)} / {_us(r.baseline_cpu_us)}"


def table(results: list[Result]) -> str:
    """The results as a text table: the ratio is the median of the per-round ratios, "spread"
    the middle half of them (and its width against the median; "!" marks one too wide to
    judge), "cpu µs/op" the CPU per operation of the measured arm and of its baseline."""
    rows = [("id", "name", "value", "baseline", "ratio", "spread", "cpu µs/op", "bar", "pass")]
    for r in results:
        base = "-" if r.baseline is None else f"{r.baseline:.4g} {r.unit}"
        ratio = "-" if r.ratio is None else f"{r.ratio:.3g}"
        rows.append(
            (
                r.id,
                r.name,
                f"{r.value:.4g} {r.unit}",
                base,
                ratio,
                _spread_cell(r),
                _cpu_cell(r),
                r.bar,
                "yes" if r.passed else "NO",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def warnings(results: list[Result]) -> list[str]:
    """Every figure of ``results`` that is unsteady or cannot be judged, one line each."""
    return [line for r in results for line in r.warnings()]
