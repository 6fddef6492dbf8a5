"""What the central team reads on the server without decrypting anything: ``stats`` (sync
health and the suppressed coordinator report), ``matches`` (possible matches between
screenings) and ``retention`` (destroying what is past retention)."""

from __future__ import annotations

import argparse

from fieldscreen.sync.server.cli.common import AddCommand, Parents, emit, open_storage

__all__ = ["add_commands"]


def cmd_stats(args: argparse.Namespace) -> int:
    """Sync health, and the coordinator report from the aggregate records (suppressed)."""
    from fieldscreen.reports.coordinator import ReportFilter, coordinator_report
    from fieldscreen.sync.server.storage import Principal

    wanted = ReportFilter(args.from_week or "", args.to_week or "", frozenset(args.site or ()))
    storage = open_storage(args)
    admin = Principal("admin", frozenset(), "cli")
    stats = storage.repos.reporting.stats(admin)
    report = coordinator_report(
        storage.repos.reporting.iter_aggregates(admin), threshold=args.threshold, keep=wanted
    )
    total = sum(row["envelopes"] for row in stats["per_day"])
    devices = len(stats["devices"])
    emit(
        args,
        {**stats, "report": report.to_json()},
        f"{total} envelopes, {stats['conflicts']} conflicts, {stats['quarantined']} quarantined, "
        f"{devices} {'device' if devices == 1 else 'devices'}\n\n" + report.text(),
    )
    return 0


def cmd_matches(args: argparse.Namespace) -> int:
    """The coordinators' list of possible matches between screenings (shared match tokens)."""
    from fieldscreen.sync.server.storage import Principal

    storage = open_storage(args)
    if args.site:
        principal = Principal("coordinator", frozenset(args.site), "cli")
    else:
        principal = Principal("admin", frozenset(), "cli")
    answer = storage.repos.matching.matches(principal, actor="cli")
    found = answer["matches"]
    lines = [
        f"{m['site']} {m['week']} {m['record_id']} (tier {m['tier']}): possible earlier "
        f"screening at site {m['earlier']['site']}, week {m['earlier']['week']} "
        f"(tier {m['earlier']['tier']}, {m['earlier']['record_id']}; shared: "
        f"{', '.join(m['tokens'])}; child's consent to tell the specialist: "
        f"{'yes' if m['consent'] else 'no'})"
        for m in found
    ]
    common = answer["too_common"]
    if common:
        lines.append(f"({common} tokens shared by too many screenings to tell one child: left out)")
    emit(args, answer, "\n".join(lines) or "No possible matches.")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    storage = open_storage(args)
    destroyed = storage.repos.reporting.apply_retention(args.days, "cli")
    held = storage.repos.reporting.last_held_destroyed
    emit(
        args,
        {"destroyed": destroyed, "held_destroyed": held},
        f"{destroyed} envelopes and {held} held copies (conflicts, quarantine) destroyed",
    )
    return 0


def add_commands(add: AddCommand, parents: Parents) -> None:
    del parents  # none of these reads a passphrase
    p = add("stats", cmd_stats, "sync health and the coordinator report (suppressed counts)")
    p.add_argument("--threshold", type=int, default=5, help="smallest count shown (default 5)")
    p.add_argument("--site", action="append", help="only these sites (repeat)")
    p.add_argument("--from-week", metavar="YYYY-Www", help="first ISO week counted, e.g. 2026-W44")
    p.add_argument("--to-week", metavar="YYYY-Www", help="last ISO week counted (inclusive)")
    p = add(
        "matches",
        cmd_matches,
        "possible matches between screenings of the same child (coordinators' list)",
    )
    p.add_argument("--site", action="append", help="only pairs with a screening of these sites")
    p = add("retention", cmd_retention, "destroy what is past retention")
    p.add_argument("action", choices=("apply",))
    p.add_argument("--days", type=int, default=365)
