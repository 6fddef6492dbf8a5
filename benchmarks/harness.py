"""Timing, statistics and the results file shared by every benchmark."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sample:
    """Several timings of one thing: median, min and max."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def summary(self) -> dict[str, float]:
        return {"median": self.median, "min": self.min, "max": self.max, "runs": len(self.values)}


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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pass"] = data.pop("passed")
        return data


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
    """A result whose pass/fail is ``measured / baseline`` against ``bar``."""
    ratio = measured.median / baseline.median
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
    )


def time_interleaved(
    subjects: Sequence[Callable[[], float | None]], runs: int, warmup: int = 1
) -> list[Sample]:
    """Time each callable ``runs`` times, alternating between them so drift hits all alike.

    A callable may return its own measurement (seconds); otherwise its wall time is used.
    """
    for _ in range(warmup):
        for subject in subjects:
            subject()
    timings: list[list[float]] = [[] for _ in subjects]
    for _ in range(runs):
        for index, subject in enumerate(subjects):
            start = time.perf_counter()
            own = subject()
            timings[index].append(own if own is not None else time.perf_counter() - start)
    return [Sample(tuple(t)) for t in timings]


def run_process(args: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall time of a whole process; raises if it fails."""
    start = time.perf_counter()
    subprocess.run(args, env={**os.environ, **(env or {})}, check=True, capture_output=True)
    return time.perf_counter() - start


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_results(results: list[Result], path: Path | None = None) -> Path:
    """Merge ``results`` into the results file (replacing entries with the same id)."""
    path = path or RESULTS_DIR / "latest.json"
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


def table(results: list[Result]) -> str:
    rows = [("id", "name", "value", "baseline", "ratio", "bar", "pass")]
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
                r.bar,
                "yes" if r.passed else "NO",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )
