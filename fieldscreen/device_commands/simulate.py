"""``fieldscreen simulate --screenings N [--seed S] [--distinct D]``: fill the profile's vault with
synthetic screenings, for benchmarks and demonstrations only (never on a laptop used for
casework).

Answering a screening through the form engine costs tens of milliseconds, writing it a little
over one, so the simulator answers ``D`` distinct screenings through the real form engine (the
built-in forms, random answers of the right type: :mod:`fieldscreen.forms.synthetic`), in worker
processes, and then writes ``N`` screenings, each one of those ``D`` picked at random (seeded).
Every screening written goes through the real vault exactly as the app's does: a draft, then
finalise, which seals the full record to the organisation, signs the envelope (with its
aggregate record) into the outbox and writes the case card and the case list's index. Each one
has its own record id, data keys, sealed payload, signature and device sequence number, so the
app and sync cannot tell them from screenings made by hand; only their answers repeat.

Writes are grouped :data:`CHUNK` screenings to a transaction (:meth:`Vault.bulk`): one flush to
disk per chunk instead of one per write. A crash loses at most the chunk being written, which
is fine for a simulator and is why the app never does it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fieldscreen.device import form_context, stored_provisioning
from fieldscreen.device_commands import unlocked_vault
from fieldscreen.errors import DeviceError
from fieldscreen.followup import cadence_of, next_due, schedule
from fieldscreen.forms import most_urgent
from fieldscreen.forms.aggregate import case_aggregate
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.synthetic import SyntheticCase, synthetic_case
from fieldscreen.sync.commands import emit
from fieldscreen.sync.errors import SyncError
from fieldscreen.vault.cli_common import add_unlock_arguments

__all__ = [
    "CHUNK",
    "DISTINCT",
    "WAITING",
    "Template",
    "add_arguments",
    "case_card",
    "run",
    "supervision_kinds",
]

#: Screenings written per transaction (one flush to disk each).
CHUNK = 500
#: Distinct screenings answered through the form engine by default.
DISTINCT = 250
#: Share of the screenings left waiting for a supervisor (a year of a site: most signed off).
WAITING = 0.02
#: Rules of the built-in forms whose screening a supervisor signs off, and the queue's names.
_SIGN_OFF_RULES = (("F_CONSENT_OVERRIDE", "consent-override"), ("BID_REQUIRED", "bid-required"))
#: Screenings answered per worker task.
_ANSWER_CHUNK = 25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Fill the profile's vault with synthetic screenings (benchmarks and demonstrations "
        "only). Writes are grouped in transactions of "
        f"{CHUNK} screenings, each flushed to disk once: a crash loses at most the group "
        "being written. Answers come from --distinct screenings answered through the form "
        "engine; every screening is still drafted, sealed, signed and queued on its own."
    )
    parser.add_argument("--screenings", type=int, required=True, metavar="N")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same answers")
    parser.add_argument(
        "--distinct",
        type=int,
        default=DISTINCT,
        metavar="D",
        help=f"distinct screenings answered through the form engine (default {DISTINCT}; "
        "at most N)",
    )
    parser.add_argument(
        "--jobs", type=int, default=0, help="worker processes answering forms (default: CPUs)"
    )
    parser.add_argument(
        "--waiting",
        type=float,
        default=WAITING,
        metavar="SHARE",
        help=f"share of the screenings left waiting for a supervisor (default {WAITING}): "
        "their act-now actions unrecorded, nothing signed off; every other one has its "
        "actions recorded and what it needed signed off",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_unlock_arguments(parser)


@dataclass(frozen=True, slots=True)
class Template:
    """One screening answered through the form engine, as plain data."""

    record: dict[str, Any]
    card: dict[str, Any]
    aggregate: dict[str, Any] | None
    deadline_hours: tuple[tuple[str, float, str], ...]  # label, hours, basis
    #: What a supervisor must sign off whatever the actions (consent override, best-interests
    #: determination), as the app's supervisor queue names them.
    sign_off: tuple[str, ...] = ()
    #: Whether the screening is act-now (it waits for a supervisor until actions are recorded).
    act_now: bool = False


_Job = tuple[int, int, int, dict[str, str], str, date]


def _card_fields(case: SyntheticCase) -> tuple[dict[str, Any], tuple[tuple[str, float, str], ...]]:
    """The case card's fields that do not depend on when the screening is finalised."""
    risks = [s.risk() for s in case.sessions.values()]
    tier = most_urgent(r.tier for r in risks)
    card = {
        **case.case_card(),
        "tier": tier,
        "computed_tier": most_urgent(r.computed_tier for r in risks),
        "concerns": list(dict.fromkeys(c for r in risks for c in r.concerns)),
        "referrals": [
            {"service_type": s, "label": s, "provider": "", "contact": "", "consented": False}
            for s in dict.fromkeys(s for r in risks for s in r.referrals)
        ],
    }
    deadlines = tuple(
        (d.label or d.name, float(d.hours), d.basis) for r in risks for d in r.deadlines
    )
    return card, deadlines


def _answer(job: _Job) -> list[Template]:
    """``count`` screenings answered through the form engine.

    Each job has a seed of its own, so the result is the same however many workers run.
    """
    seed, index, count, context, site, day = job
    rng = random.Random(f"{seed}:{index}")  # noqa: S311 -- seeded synthetic answers, not secrets
    forms = builtin_forms()
    out = []
    for _ in range(count):
        case = synthetic_case(forms, rng, context=context)
        aggregate = case_aggregate(case.sessions.values(), site=site, day=day)
        card, deadlines = _card_fields(case)
        risks = [s.risk() for s in case.sessions.values()]
        rules = {flag for r in risks for flag in r.flags}
        sign_off = tuple(kind for rule, kind in _SIGN_OFF_RULES if rule in rules)
        act_now = any(r.act_now for r in risks)
        out.append(Template(case.record(), card, aggregate, deadlines, sign_off, act_now))
    return out


def supervision_kinds(template: Template, *, actions_recorded: bool) -> list[str]:
    """What about one screening waits for a supervisor, in the order and with the names of
    the app's supervisor queue (``fieldscreen.ui.supervision.screening_kinds``)."""
    kinds = [k for k in template.sign_off if k == "consent-override"]
    if template.act_now and not actions_recorded:
        kinds.append("act-now")
    return kinds + [k for k in template.sign_off if k == "bid-required"]


def case_card(
    template: Template, finalised: datetime, window_days: int, *, actions_recorded: bool = True
) -> dict[str, Any]:
    """The case card as the app writes it at ``finalised``: the deadlines, the follow-up
    plan and next date from the tier's cadence (:mod:`fieldscreen.followup`), and what waits
    for a supervisor (``actions_recorded``, ``supervision``)."""
    deadlines = sorted(
        (
            (label, finalised + timedelta(hours=hours), basis)
            for label, hours, basis in template.deadline_hours
        ),
        key=lambda d: d[1],
    )
    plan = schedule(cadence_of(str(template.card.get("tier", ""))), finalised, window_days)
    due = next_due(plan)
    return {
        **template.card,
        "deadlines": [
            {"label": label, "due": when.isoformat(), "basis": basis}
            for label, when, basis in deadlines
        ],
        "follow_up": plan,
        "next_due": due.isoformat() if due else None,
        "actions_recorded": actions_recorded,
        "supervision": supervision_kinds(template, actions_recorded=actions_recorded),
    }


def answer_templates(
    distinct: int,
    *,
    seed: int,
    context: Mapping[str, str],
    site: str,
    day: date,
    jobs: int,
) -> list[Template]:
    """``distinct`` screenings answered through the form engine, in ``jobs`` processes."""
    chunks: list[_Job] = [
        (seed, i, min(_ANSWER_CHUNK, distinct - first), dict(context), site, day)
        for i, first in enumerate(range(0, distinct, _ANSWER_CHUNK))
    ]
    jobs = max(1, min(jobs, len(chunks)))
    templates: list[Template] = []
    with contextlib.ExitStack() as stack:
        if jobs > 1:  # the form engine is the cost: answer in worker processes
            pool = stack.enter_context(ProcessPoolExecutor(jobs))
            results: Iterator[list[Template]] = pool.map(_answer, chunks)
        else:
            results = (_answer(chunk) for chunk in chunks)
        for made in results:
            templates.extend(made)
    return templates


def run(args: argparse.Namespace) -> int:
    if args.screenings < 0:
        raise DeviceError("setting-invalid", name="--screenings", reason="at least 0")
    if args.distinct < 1:
        raise DeviceError("setting-invalid", name="--distinct", reason="at least 1")
    if not 0.0 <= args.waiting <= 1.0:
        raise DeviceError("setting-invalid", name="--waiting", reason="from 0 to 1")
    intake = builtin_forms()["fs_intake"]
    started = time.perf_counter()
    with unlocked_vault(args) as (vault, settings):
        provisioning = stored_provisioning(vault)
        if provisioning is None:
            raise SyncError("sync-not-provisioned")
        site = str(settings.get("site_id"))
        ctx = form_context(provisioning, site)
        context = {"site": ctx["ctx_site"], "jurisdiction": ctx["ctx_jurisdiction"]}
        distinct = min(args.distinct, args.screenings)
        templates = answer_templates(
            distinct,
            seed=args.seed,
            context=context,
            site=site,
            day=date.today(),
            jobs=args.jobs or os.cpu_count() or 1,
        )
        window = int(settings.get("follow_up_window_days"))
        pick = random.Random(f"{args.seed}:order")  # noqa: S311 -- which answers, not secrets
        wait = random.Random(f"{args.seed}:waiting")  # noqa: S311 -- which wait, not secrets
        with_stats = done = waiting = signed = 0
        while done < args.screenings:
            count = min(CHUNK, args.screenings - done)
            with vault.bulk():  # one transaction, one flush, per chunk
                for _ in range(count):
                    template = templates[pick.randrange(distinct)]
                    # The draft starts empty: finalise replaces its content with the record
                    # (the app's autosaved draft state is gone after finalise as well).
                    record_id = vault.new_draft(intake.id, intake.version)
                    left = wait.random() < args.waiting
                    card = case_card(template, datetime.now(UTC), window, actions_recorded=not left)
                    vault.finalise(
                        record_id,
                        record=template.record,
                        case_card=card,
                        aggregate=template.aggregate,
                    )
                    with_stats += template.aggregate is not None
                    if card["supervision"] and left:
                        waiting += 1
                    elif card["supervision"]:  # signed off, as a supervisor does in the app
                        vault.record_event("override", record_id, _signed_off(card))
                        signed += 1
            done += count
            if not args.json:
                print(f"\r{done}/{args.screenings}", end="", file=sys.stderr)
    if not args.json and args.screenings:
        print(file=sys.stderr)
    seconds = round(time.perf_counter() - started, 2)
    emit(
        args,
        {
            "screenings": args.screenings,
            "distinct": distinct,
            "seed": args.seed,
            "with_aggregate": with_stats,
            "waiting_for_supervisor": waiting,
            "signed_off": signed,
            "seconds": seconds,
        },
        f"{args.screenings} synthetic screenings finalised and queued in {seconds} s.",
    )
    return 0


def _signed_off(card: dict[str, Any]) -> dict[str, Any]:
    """The audit detail of a supervisor's approval of everything ``card`` waits for (the
    supervisor queue's sign-off entry; codes only)."""
    return {
        "queue": "sign-off",
        "kinds": list(card["supervision"]),
        "decision": "approve",
        "supervisor": "",
        "requested_by": "",
        "tier": str(card.get("tier", "")),
        "requested_tier": "",
        "note": "",
    }
