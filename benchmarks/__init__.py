"""Benchmarks for the bars of the performance spec, P1-P9.

Every benchmark measures the code under test *and* its baseline in the same run (the machine is
shared and noisy, so only ratios are compared with the bars) and reports the median, min and max
over several runs after a warm-up. ``make bench`` runs them all; ``make bench ONLY=P4`` one.
"""

from __future__ import annotations

#: Benchmark id -> module (inside this package) that provides ``run() -> list[Result]``.
REGISTRY: dict[str, str] = {
    "P1": "benchmarks.p1_encrypted_save",
    "P2": "benchmarks.p2_autosave_latency",
    "P3": "benchmarks.p3_forms",
    "P4": "benchmarks.p4_startup",
    "P5": "benchmarks.p5_cases",
    "P6": "benchmarks.p6_sync",
    "P7": "benchmarks.p7_memory",
    "P8": "benchmarks.p8_many_devices",
    "P9": "benchmarks.p9_installer",
    "P10": "benchmarks.p10_matching",
}
