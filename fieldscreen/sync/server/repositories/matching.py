"""Possible matches between screenings: the match tokens of stored screenings (bounded per
device and day), the coordinators' and admins' list of pairs, and a device's own told matches.
See docs/privacy-matching.md; every reading is audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldscreen.reports.aggregates import check_match
from fieldscreen.sync.envelope import Envelope
from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.database import Database
from fieldscreen.sync.server.repositories.model import DeviceRow, Principal

__all__ = ["MATCH_MOST_SHARED", "MATCH_RECORDS_PER_DAY", "Matching"]

#: How many screenings' match tokens one device may add to ``match_tokens`` per day (a
#: laptop screens far fewer; docs/privacy-matching.md).
MATCH_RECORDS_PER_DAY = 200
#: A token more screenings than this share is too common to point at one child (a frequent
#: first name, age band and country): left out of the match list, and counted.
MATCH_MOST_SHARED = 8
_MATCH_COLUMNS = ("record_id", "device_id", "site", "week", "tier", "consent", "created")


def _match_side(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "record_id": str(row["record_id"]),
        "device_id": str(row["device_id"]),
        "site": str(row["site"]),
        "week": str(row["week"]),
        "tier": str(row["tier"]),
        "consent": bool(row["consent"]),
        "created": str(row["created"]),
    }


class Matching:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def keep_tokens(
        self, conn: Connection, stored: Sequence[tuple[Envelope, DeviceRow]], received: str
    ) -> None:
        """The match tokens of screenings just stored, in ``match_tokens``: at most
        :data:`MATCH_RECORDS_PER_DAY` screenings' worth per device and day (received), so an
        enrolled device that floods tokens cannot fill the coordinators' list or probe it
        without end; the tokens beyond are left in the envelope only, and the audit log says
        how many (``match-tokens-set-aside``)."""
        day = received[:10]
        per_device: dict[str, list[list[dict[str, Any]]]] = {}
        for envelope, device in stored:
            aggregate = envelope.aggregate
            if envelope.kind != "screening" or "match" not in aggregate:
                continue
            tokens, consent = check_match(aggregate)  # checked when shaped: valid here
            per_device.setdefault(device.id, []).append(
                [
                    {
                        "token": token,
                        "record_id": envelope.record_id,
                        "device_id": device.id,
                        "site": device.site,
                        "week": str(aggregate.get("week", "")),
                        "tier": str(aggregate.get("tier", "")),
                        "consent": consent,
                        "created": envelope.created,
                        "received_day": day,
                    }
                    for token in tokens
                ]
            )
        m = t.match_tokens
        for device_id, records in per_device.items():
            held = conn.execute(
                sa.select(sa.func.count(sa.distinct(m.c.record_id))).where(
                    m.c.device_id == device_id, m.c.received_day == day
                )
            ).scalar()
            room = max(0, MATCH_RECORDS_PER_DAY - int(held or 0))
            rows = [row for record in records[:room] for row in record]
            if rows:
                conn.execute(self._db.insert(m).on_conflict_do_nothing(), rows)
            if len(records) > room:
                self._audit.append(
                    conn,
                    device_id,
                    "match-tokens-set-aside",
                    {"screenings": len(records) - room, "day": day},
                )

    def matches(self, principal: Principal, actor: str | None = None) -> dict[str, Any]:
        """Possible matches between screenings (they share a match token), for coordinators
        (a pair with a screening of their sites) and admins (every pair): ``matches``, each
        pair once, the later screening first, with the earlier one, the token kinds shared and
        whether the child of the later one agreed that its specialist may be told; and
        ``too_common``, how many tokens are left out because more than
        :data:`MATCH_MOST_SHARED` screenings share them (a common first name, age band and
        country says nothing about one child). Reading the list is written to the audit log.

        Raises:
            ServerError: ``server-match-role`` for any other caller (a device).
        """
        if principal.role not in {"admin", "coordinator"}:
            raise ServerError("server-match-role")
        m = t.match_tokens
        a, b = m.alias("a"), m.alias("b")
        counted = (
            sa.select(m.c.token, sa.func.count().label("n"))
            .group_by(m.c.token)
            .having(sa.func.count() > 1)
            .subquery("counted")
        )
        shared = sa.select(counted.c.token).where(counted.c.n <= MATCH_MOST_SHARED).subquery()
        query = sa.select(
            a.c.token,
            *(a.c[c].label(f"a_{c}") for c in _MATCH_COLUMNS),
            *(b.c[c].label(f"b_{c}") for c in _MATCH_COLUMNS),
        ).select_from(
            shared.join(a, a.c.token == shared.c.token).join(
                b, sa.and_(b.c.token == a.c.token, a.c.record_id < b.c.record_id)
            )
        )
        if principal.role != "admin":
            sites = sorted(principal.sites)
            query = query.where(sa.or_(a.c.site.in_(sites), b.c.site.in_(sites)))
        pairs: dict[tuple[str, str], dict[str, Any]] = {}
        with self._db.engine.begin() as conn:
            for row in conn.execute(query):
                one = {c: row._mapping[f"a_{c}"] for c in _MATCH_COLUMNS}
                two = {c: row._mapping[f"b_{c}"] for c in _MATCH_COLUMNS}
                later, earlier = sorted(
                    (one, two), key=lambda r: (r["created"], r["record_id"]), reverse=True
                )
                pair = pairs.setdefault(
                    (later["record_id"], earlier["record_id"]),
                    {**_match_side(later), "earlier": _match_side(earlier), "tokens": set()},
                )
                pair["tokens"].add(str(row.token).split("-", 1)[0])
            too_common = conn.execute(
                sa.select(sa.func.count())
                .select_from(counted)
                .where(counted.c.n > MATCH_MOST_SHARED)
            ).scalar()
            out = [
                {**pair, "tokens": sorted(pair["tokens"])}
                for _key, pair in sorted(
                    pairs.items(), key=lambda kv: (kv[1]["created"], kv[0]), reverse=True
                )
            ]
            self._audit.append(conn, actor or principal.label, "matches-read", {"pairs": len(out)})
        return {"matches": out, "too_common": int(too_common or 0)}

    def told_matches(self, principal: Principal) -> list[dict[str, Any]]:
        """For a device: each of its own screenings whose child agreed that the specialist be
        told (``match_consent``) and that shares a token (not too common) with an earlier
        screening, with those earlier screenings' site, week, tier and record id (to link the
        cases), nothing more. Audited (``matches-told``); any other caller is refused.

        Raises:
            ServerError: ``server-match-role`` for a caller that is not a device.
        """
        if principal.role != "device" or principal.device_id is None:
            raise ServerError("server-match-role")
        m = t.match_tokens
        a, b = m.alias("a"), m.alias("b")
        common = (
            sa.select(m.c.token)
            .group_by(m.c.token)
            .having(sa.func.count() > MATCH_MOST_SHARED)
            .subquery()
        )
        query = (
            sa.select(
                a.c.record_id,
                b.c.record_id.label("earlier"),
                b.c.site,
                b.c.week,
                b.c.tier,
                b.c.created,
            )
            .select_from(a.join(b, sa.and_(b.c.token == a.c.token, b.c.record_id != a.c.record_id)))
            .where(
                a.c.device_id == principal.device_id,
                a.c.consent.is_(True),
                b.c.created <= a.c.created,
                a.c.token.not_in(sa.select(common.c.token)),
            )
        )
        found: dict[str, dict[str, dict[str, str]]] = {}
        with self._db.engine.begin() as conn:
            for row in conn.execute(query):
                found.setdefault(str(row.record_id), {})[str(row.earlier)] = {
                    "record_id": str(row.earlier),
                    "site": str(row.site),
                    "week": str(row.week),
                    "tier": str(row.tier),
                }
            out: list[dict[str, Any]] = []
            for rid, earlier in sorted(found.items()):
                rows = sorted(earlier.values(), key=lambda r: (r["week"], r["record_id"]))
                out.append({"record_id": rid, "earlier": rows})
            self._audit.append(conn, principal.device_id, "matches-told", {"screenings": len(out)})
        return out
