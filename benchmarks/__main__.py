"""``python -m benchmarks [--only P4,P3] [--quick]``: run benchmarks, print a table, write the
JSON, and warn about every figure whose spread is too wide to judge."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback

from benchmarks import REGISTRY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", help="comma-separated ids, e.g. P4 or P1,P2")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, to try the harness quickly; results go to results/quick.json",
    )
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["FIELDSCREEN_BENCH_QUICK"] = "1"
    # Imported after --quick is known: the benchmarks read their sizes when imported.
    from benchmarks.harness import Result, table, warnings, write_results

    ids = [i.strip().upper() for i in args.only.split(",")] if args.only else list(REGISTRY)
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
        return 2
    results: list[Result] = []
    failed: list[str] = []
    path = None
    for bench_id in ids:
        print(f"running {bench_id} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(REGISTRY[bench_id])
            fresh: list[Result] = module.run()
        except Exception:  # the others still run; the exit status says one failed
            traceback.print_exc()
            failed.append(bench_id)
            continue
        took = time.perf_counter() - start
        # How busy the machine was meanwhile: the load average over its last 1, 5, 15 minutes.
        load = [round(v, 2) for v in os.getloadavg()]
        for result in fresh:
            result.details.setdefault("load_average_at_end", load)
            result.details.setdefault("benchmark_seconds", round(took))
        results.extend(fresh)
        # Written as each benchmark ends, so that a later one failing loses nothing.
        path = write_results(fresh)
        print(f"  {bench_id} took {took:.0f} s, load {load[1]:.1f}", file=sys.stderr, flush=True)
    print(table(results))
    lines = warnings(results)
    if lines:
        print(f"\nWARNING: {len(lines)} figure(s) of this run are unsteady or cannot be judged:")
        for line in lines:
            print(f"  - {line}")
    if path is not None:
        print(f"\nwritten to {path}")
    if failed:
        print(f"\nFAILED: {', '.join(failed)} (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
