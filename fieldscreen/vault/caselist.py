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
            report = listindex.check(conn, keys, entries, bad, rows)
            if report.stale_buckets:
                for rebuilt in listindex.rebuild(conn, keys, report.stale_buckets).values():
                    entries.update(rebuilt)
            out: list[ListRow] = []
            get = entries.get
            cards = 0
            for rid, status, updated_day, version, _nonce in rows:
                found = get(rid) if version is not None else None
                if found is None:
                    out.append(ListRow(rid, status, updated_day, None))
                else:
                    cards += 1
                    out.append(ListRow(rid, status, updated_day, found[2]))
            self._audit(
                conn,
                "view",
                detail={
                    "what": "case-list",
                    "cards": cards,
                    "rebuilt": len(report.stale_buckets),
                },
            )
        return out

    def list_index_check(self) -> listindex.IndexCheck:
        """Compare the stored list index with the case cards, changing nothing."""
        keys, _ = self._require()
        with self._tx() as conn:
            return listindex.check(conn, keys)
