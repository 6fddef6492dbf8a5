"""``fieldscreen simulate --screenings N [--seed S]``: fill the profile's vault with synthetic
screenings, for benchmarks and demonstrations only (never on a laptop used for casework).

Every screening goes through the real form engine (the built-in forms, random answers of the
right type: :mod:`fieldscreen.forms.synthetic`) and the real vault: a draft, then finalise,
which seals and signs the envelope (with its aggregate record) into the outbox, exactly as the
app does. Writes are grouped in one transaction per chunk (:meth:`Vault.bulk`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Any

from fieldscreen.device import form_context, stored_provisioning
from fieldscreen.device_commands import unlocked_vault
from fieldscreen.errors import KnownError
from fieldscreen.forms.aggregate import case_aggregate
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.synthetic import synthetic_case
from fieldscreen.sync.commands import emit
from fieldscreen.sync.errors import SyncError
from fieldscreen.vault.cli_common import add_unlock_arguments

__all__ = ["add_arguments", "run"]

CHUNK = 250


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--screenings", type=int, required=True, metavar="N")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same answers")
    parser.add_argument(
        "--jobs", type=int, default=0, help="worker processes answering forms (default: CPUs)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_unlock_arguments(parser)


_Chunk = tuple[int, int, int, dict[str, str], str, date]


def _chunk(
    chunk: _Chunk,
) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any] | None]]:
    """``count`` screenings as plain data (draft state, record, case card, aggregate).

    Each chunk has a seed of its own, so the result is the same however many workers run.
    """
    seed, index, count, context, site, day = chunk
    rng = random.Random(f"{seed}:{index}")  # noqa: S311 -- seeded synthetic answers, not secrets
    forms = builtin_forms()
    out = []
    for _ in range(count):
        case = synthetic_case(forms, rng, context=context)
        state = {"forms": {f: s.to_state() for f, s in case.sessions.items()}}
        aggregate = case_aggregate(case.sessions.values(), site=site, day=day)
        out.append((state, case.record(), case.case_card(), aggregate))
    return out


def run(args: argparse.Namespace) -> int:
    if args.screenings < 0:
        raise KnownError("setting-invalid", name="--screenings", reason="at least 0")
    intake = builtin_forms()["fs_intake"]
    started = time.perf_counter()
    with unlocked_vault(args) as (vault, settings):
        provisioning = stored_provisioning(vault)
        if provisioning is None:
            raise SyncError("sync-not-provisioned")
        site = str(settings.get("site_id"))
        ctx = form_context(provisioning, site)
        context = {"site": ctx["ctx_site"], "jurisdiction": ctx["ctx_jurisdiction"]}
        today = date.today()
        chunks: list[_Chunk] = [
            (args.seed, i, min(CHUNK, args.screenings - first), context, site, today)
            for i, first in enumerate(range(0, args.screenings, CHUNK))
        ]
        jobs = max(1, min(args.jobs or os.cpu_count() or 1, len(chunks)))
        with_stats = done = 0
        with contextlib.ExitStack() as stack:
            if jobs > 1:  # the form engine is the cost: answer in worker processes
                pool = stack.enter_context(ProcessPoolExecutor(jobs))
                results: Iterator[Any] = pool.map(_chunk, chunks)
            else:
                results = (_chunk(chunk) for chunk in chunks)
            for screenings in results:
                with vault.bulk():  # one transaction per chunk
                    for state, record, card, aggregate in screenings:
                        record_id = vault.new_draft(intake.id, intake.version, state)
                        vault.finalise(
                            record_id, record=record, case_card=card, aggregate=aggregate
                        )
                        with_stats += aggregate is not None
                done += len(screenings)
                if not args.json:
                    print(f"\r{done}/{args.screenings}", end="", file=sys.stderr)
    if not args.json and args.screenings:
        print(file=sys.stderr)
    seconds = round(time.perf_counter() - started, 2)
    emit(
        args,
        {
            "screenings": args.screenings,
            "seed": args.seed,
            "with_aggregate": with_stats,
            "seconds": seconds,
        },
        f"{args.screenings} synthetic screenings finalised and queued in {seconds} s.",
    )
    return 0
