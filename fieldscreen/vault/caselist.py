"""The case list's read: every record's plaintext columns and its card's list fields, at once.

:meth:`CaseListMixin.case_list` reads the encrypted list index (:mod:`fieldscreen.vault.listindex`:
one decryption per bucket instead of two per card), checks it against the case cards' plaintext
columns and rebuilds any bucket that does not match, all in one transaction with one audit
entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldscreen.vault import listindex
from fieldscreen.vault.base import VaultBase

__all__ = ["CaseListMixin", "ListRow"]


@dataclass(frozen=True, slots=True)
class ListRow:
    """One record as the case list shows it.

    ``fields`` holds the case card's :data:`~fieldscreen.vault.listindex.LIST_FIELDS` (alias,
    tier, concerns, next_due, age; those present), or None when the record has no case card
    (a draft) or its card could not be read.
    """

    record_id: str
    status: str
    updated_day: str | None
    fields: dict[str, Any] | None


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
            out, matched, cards = _list_rows(rows, entries)
            rebuilt = 0
            total = conn.execute("SELECT count(*) FROM case_cards").fetchone()[0]
            if bad or not matched == cards == len(entries) == total:
                report = listindex.check(conn, keys, entries, bad, rows)
                if report.stale_buckets:
                    listindex.rebuild(conn, keys, report.stale_buckets)
                    rebuilt = len(report.stale_buckets)
                    entries, bad = listindex.read_all(conn, keys)
                    out, matched, cards = _list_rows(rows, entries)
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
    rows: list[listindex.Row], entries: dict[str, listindex.Entry]
) -> tuple[list[ListRow], int, int]:
    """The list's rows, how many cards matched their index entry, and how many cards there are.

    A card's fields are shown only from an entry made from that very card (same version and
    nonce); one pass, no decryption.
    """
    out: list[ListRow] = []
    append = out.append
    get = entries.get
    matched = cards = 0
    for rid, status, updated_day, version, nonce in rows:
        if version is None:
            append(ListRow(rid, status, updated_day, None))
            continue
        cards += 1
        found = get(rid)
        if found is not None and found[0] == version and found[1] == nonce:
            matched += 1
            append(ListRow(rid, status, updated_day, found[2]))
        else:
            append(ListRow(rid, status, updated_day, None))
    return out, matched, cards
