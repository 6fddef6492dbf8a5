"""``python -m benchmarks [--only P4,P3]``: run benchmarks, print a table, write the JSON."""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks import REGISTRY
from benchmarks.harness import Result, table, write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", help="comma-separated ids, e.g. P4 or P1,P2")
    args = parser.parse_args(argv)
    ids = [i.strip().upper() for i in args.only.split(",")] if args.only else list(REGISTRY)
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
        return 2
    results: list[Result] = []
    for bench_id in ids:
        print(f"running {bench_id} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(REGISTRY[bench_id])
        results.extend(module.run())
    path = write_results(results)
    print(table(results))
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
