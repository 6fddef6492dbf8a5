"""``fieldscreen simulate --screenings N [--seed S]``: fill the profile's vault with synthetic
screenings, for benchmarks and demonstrations only (never on a laptop used for casework).

Every screening goes through the real form engine (the built-in forms, random answers of the
right type: :mod:`fieldscreen.forms.synthetic`) and the real vault: a draft, then finalise,
which seals and signs the envelope (with its aggregate record) into the outbox, exactly as the
app does. Writes are grouped in one transaction per chunk (:meth:`Vault.bulk`).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date

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
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_unlock_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.screenings < 0:
        raise KnownError("setting-invalid", name="--screenings", reason="at least 0")
    rng = random.Random(args.seed)  # noqa: S311 -- seeded synthetic answers, not secrets
    forms = builtin_forms()
    intake = forms["fs_intake"]
    started = time.perf_counter()
    with unlocked_vault(args) as (vault, settings):
        provisioning = stored_provisioning(vault)
        if provisioning is None:
            raise SyncError("sync-not-provisioned")
        site = str(settings.get("site_id"))
        ctx = form_context(provisioning, site)
        context = {"site": ctx["ctx_site"], "jurisdiction": ctx["ctx_jurisdiction"]}
        today = date.today()
        with_stats = 0
        for first in range(0, args.screenings, CHUNK):
            count = min(CHUNK, args.screenings - first)
            cases = [synthetic_case(forms, rng, context=context) for _ in range(count)]
            with vault.bulk():
                for case in cases:
                    state = {"forms": {f: s.to_state() for f, s in case.sessions.items()}}
                    record_id = vault.new_draft(intake.id, intake.version, state)
                    aggregate = case_aggregate(case.sessions.values(), site=site, day=today)
                    with_stats += aggregate is not None
                    vault.finalise(
                        record_id,
                        record=case.record(),
                        case_card=case.case_card(),
                        aggregate=aggregate,
                    )
            if not args.json:
                print(f"\r{first + count}/{args.screenings}", end="", file=sys.stderr)
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
