"""The case list's read: every record's plaintext columns and its card's list fields, at once.

:meth:`CaseListMixin.case_list` reads the encrypted list index (:mod:`fieldscreen.vault.listindex`:
one decryption per bucket instead of two per card), checks it against the case cards' plaintext
columns and rebuilds any bucket that does not match, all in one transaction with one audit
entry.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from fieldscreen.vault import listindex
from fieldscreen.vault.base import VaultBase

__all__ = ["CaseListMixin", "ListRow"]


class ListRow(NamedTuple):
    """One record as the case list shows it (a named tuple: 50,000 are made per listing).

    ``carded`` is True when the record has a case card whose list fields were read; ``alias``,
    ``tier``, ``concerns``, ``next_due`` and ``age`` are then the card's (None where the card
    has no such field), and None for a draft or a card that could not be read.
    """

    record_id: str
    status: str
    updated_day: str | None
    carded: bool
    alias: str | None = None
    tier: str | None = None
    concerns: tuple[str, ...] | None = None
    next_due: str | None = None
    age: Any = None
    #: The earliest of the card's statutory deadlines (ISO 8601) and its label.
    deadline: str | None = None
    deadline_label: str | None = None

    @property
    def fields(self) -> dict[str, Any] | None:
        """The card's list fields present, as :func:`listindex.project` gives them."""
        if not self.carded:
            return None
        values = {
            "alias": self.alias,
            "tier": self.tier,
            "concerns": None if self.concerns is None else list(self.concerns),
            "next_due": self.next_due,
            "age": self.age,
        }
        return {name: value for name, value in values.items() if value is not None}


class CaseListMixin(VaultBase):
    """The case list's read and the list index's check."""

    def case_list(self) -> list[ListRow]:
        """Every record (drafts, finalised, purged) with its card's list fields.

        One transaction and one audit entry (``view``, ``case-list``, with counts). Buckets
        that are missing, do not authenticate or do not match the cards are rebuilt from the
        cards first (counted in the audit entry as ``rebuilt``).
        """
        keys, _ = self._require()
        with self._tx() as conn:
            entries, bad = listindex.read_all(conn, keys)
            rows = listindex.record_rows(conn)
            versions = listindex.card_versions(conn)
            out, matched = _list_rows(rows, entries, versions)
            rebuilt = 0
            if bad or not matched == len(versions) == len(entries):
                report = listindex.check(conn, keys, entries, bad, versions)
                if report.stale_buckets:
                    listindex.rebuild(conn, keys, report.stale_buckets)
                    rebuilt = len(report.stale_buckets)
                    entries, bad = listindex.read_all(conn, keys)
                    out, matched = _list_rows(rows, entries, versions)
            self._audit(
                conn,
                "view",
                detail={"what": "case-list", "cards": matched, "rebuilt": rebuilt},
            )
        return out

    def list_index_check(self) -> listindex.IndexCheck:
        """Compare the stored list index with the case cards, changing nothing."""
        keys, _ = self._require()
        with self._tx() as conn:
            return listindex.check(conn, keys)


def _list_rows(
    rows: list[listindex.Row], entries: dict[str, listindex.Entry], versions: dict[str, int]
) -> tuple[list[ListRow], int]:
    """The list's rows, and how many of them have a card that matched its index entry.

    A card's fields are shown only from an entry made from that very version of it; one pass,
    no decryption.
    """
    out: list[ListRow] = []
    append = out.append
    get = entries.get
    card = versions.get
    matched = 0
    sep = listindex.SEP
    for rid, status, updated_day in rows:
        version = card(rid)
        found = get(rid) if version is not None else None
        if found is not None and found[1] == version:
            matched += 1
            _, _, alias, tier, due, concerns, age, deadline, label = found
            listed = None if concerns is None else tuple(concerns.split(sep)) if concerns else ()
            append(
                ListRow(
                    rid, status, updated_day, True, alias, tier, listed, due, age, deadline, label
                )
            )
        else:
            append(ListRow(rid, status, updated_day, False))
    return out, matched
