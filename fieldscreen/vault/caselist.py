"""The case list's read: every record's plaintext columns and its card's list fields, at once.

:meth:`CaseListMixin.case_list` reads the encrypted list index (:mod:`fieldscreen.vault.listindex`:
one decryption per bucket instead of two per card), checks it against the case cards' plaintext
columns and rebuilds any bucket that does not match, all in one transaction with one audit
entry. Every record's plaintext status and day are shown as the state digest's row map holds
them (:meth:`fieldscreen.vault.digest.RowMap.row_fixes`): a row rolled back or edited outside
FieldScreen is shown as the vault last wrote it, and reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from fieldscreen import crypto
from fieldscreen.vault import digest, flagged, listindex
from fieldscreen.vault.base import VaultBase
from fieldscreen.vault.store import no_cycle_collection

__all__ = ["CaseColumns", "CaseListMixin", "ListRow"]


class CaseColumns(NamedTuple):
    """The case list as read, before any per-row object is made (:meth:`case_columns`).

    ``rows`` holds ``(record id, status, updated day)`` of every record; ``entries`` maps a
    record id to its card's list index entry (:data:`listindex.Entry`, indexed by the
    constants of :mod:`fieldscreen.vault.listindex`), only for cards whose entry was made from
    their current version (a record without one is shown without its card's fields).
    """

    rows: list[tuple[str, str, str | None]]
    entries: dict[str, list[Any]]


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
    #: Whether the card may wait for a supervisor (:func:`listindex.needs_supervision`).
    supervise: bool = False

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
        with no_cycle_collection(), self._tx() as conn:
            entries, rows, rebuilt = self._checked(conn, keys)
            out, matched = _list_rows(rows, entries, listindex.card_versions(conn))
            self._audit(
                conn,
                "view",
                detail={"what": "case-list", "cards": matched, "rebuilt": rebuilt},
            )
        return out

    def case_columns(self) -> CaseColumns:
        """What :meth:`case_list` reads, without making a :class:`ListRow` per record: the
        case list builds objects only for the rows it shows first. Same transaction, check,
        rebuild and audit entry as :meth:`case_list`."""
        keys, _ = self._require()
        with no_cycle_collection(), self._tx() as conn:
            entries, rows, rebuilt = self._checked(conn, keys)
            self._audit(
                conn,
                "view",
                detail={"what": "case-list", "cards": len(entries), "rebuilt": rebuilt},
            )
        return CaseColumns(rows, entries)

    def supervision_candidates(self) -> dict[str, tuple[str, ...] | None]:
        """The finalised records whose case card may wait for a supervisor (flagged in the
        list index, checked against the cards like :meth:`case_list`), each with the kinds
        its card may wait for (None when the entry cannot tell: one of an earlier build), so
        the supervisor queue decrypts only those cards, and of them only the ones with a kind
        not yet signed off. One transaction; audited as ``view`` with counts."""
        keys, _ = self._require()
        with no_cycle_collection(), self._tx() as conn:
            rebuilt = 0
            final = self._kept_flagged(conn, keys)
            if final is None:
                by_bucket: dict[int, tuple[bytes, dict[str, listindex.Entry]]] = {}
                entries, rows, rebuilt = self._checked(conn, keys, by_bucket)
                field = listindex.SUPERVISE
                final = {
                    rid: entries[rid][field]
                    for rid, status, _ in rows
                    if status == "finalised" and rid in entries and entries[rid][field]
                }
                if by_bucket:
                    cache = {b: flagged.kept_of(s, e) for b, (s, e) in by_bucket.items()}
                    self._put_secret(conn, flagged.SLOT, flagged.encode(cache))
            out = {rid: listindex.supervision_kinds(value) for rid, value in final.items()}
            self._audit(
                conn,
                "view",
                detail={"what": "supervision-candidates", "cards": len(out), "rebuilt": rebuilt},
            )
        return out

    def _kept_flagged(self, conn: Any, keys: Any) -> dict[str, Any] | None:
        """The flagged entries of finalised records (record id -> ``supervise``) from the kept
        copy (:mod:`fieldscreen.vault.flagged`), only when everything :meth:`_checked` would
        check agrees; else None (that check is made instead). Buckets written since the copy
        was kept are read, and the copy written again."""
        try:
            raw = self._secret(conn, flagged.SLOT)
        except (crypto.DecryptError, crypto.CryptoError):
            return None
        kept = None if raw is None else flagged.decode(raw)
        if kept is None:
            return None
        versions = listindex.card_versions(conn)
        found = flagged.refresh(conn, keys, kept, versions)
        if found is None:
            return None
        untrusted = self._row_map.lists_untrusted(conn, keys, found.nonces)
        if untrusted is None or untrusted:
            return None
        rows = dict(listindex.fetch_text(conn, flagged.ROW_SQL))
        try:
            root = digest.read_root(conn, keys)
        except crypto.DecryptError:
            return None
        if root is None or (root.records, root.cards) != (len(rows), len(versions)):
            return None
        # The rows as :meth:`_checked_rows` takes them: those that agree with the status and
        # day written with their entry as they are (compared as strings, in C), the others
        # (drafts) checked against the row map; a carded row that disagrees is left to the
        # whole check.
        written = found.rows
        others = set() if rows == written else {rid for rid, _ in rows.items() - written.items()}
        if others & versions.keys():
            return None
        fixes: dict[Any, tuple[Any, ...] | None] = {}
        if others:
            only = None
            if len(others) <= _CHECK_ONE_BY_ONE:
                only = {
                    rid: (status, day)
                    for rid, status, day in (
                        conn.execute(
                            "SELECT id, status, updated_day FROM records WHERE id = ?", (rid,)
                        ).fetchone()
                        for rid in sorted(others)
                    )
                }
            fixes = self._row_fixes(conn, only).fixes
        if found.changed:
            self._put_secret(conn, flagged.SLOT, flagged.encode(kept))
        final = "finalised\x1f"
        out: dict[str, Any] = {}
        for rid, value in found.flagged.items():
            if rid in fixes:  # shown as the row map holds it (as :func:`_fixed`), or left out
                fixed = fixes[rid]
                if fixed is not None and fixed[1] == "finalised":
                    out[rid] = value
            elif (text := rows.get(rid)) is not None and text.startswith(final):
                out[rid] = value
        return out

    def record_statuses(self, record_ids: Iterable[str]) -> dict[str, str]:
        """The status of each of ``record_ids`` that exists (plaintext column, no decryption,
        one indexed look-up per id rather than a scan of every record)."""
        out: dict[str, str] = {}
        with self._tx() as conn:
            wanted = sorted(set(record_ids))
            fixes = self._row_fixes(conn, wanted).fixes if self._keys is not None else {}
            for rid in wanted:
                row = conn.execute("SELECT status FROM records WHERE id = ?", (rid,)).fetchone()
                if row is None or (rid in fixes and fixes[rid] is None):
                    continue
                fixed = fixes.get(rid)
                out[rid] = str(row[0] if fixed is None else fixed[1])
        return out

    def list_index_check(self) -> listindex.IndexCheck:
        """Compare the stored list index with the case cards, changing nothing."""
        keys, _ = self._require()
        with self._tx() as conn:
            return listindex.check(conn, keys)

    def _checked(
        self,
        conn: Any,
        keys: Any,
        by_bucket: dict[int, tuple[bytes, dict[str, listindex.Entry]]] | None = None,
    ) -> tuple[dict[str, listindex.Entry], list[listindex.Row], int]:
        """The index's entries, every record's plaintext columns, and how many buckets were
        rebuilt: buckets that are missing, do not authenticate or do not match the cards are
        rebuilt from the cards first (in the caller's transaction), from cards that match the
        state digest's row map only. So are buckets whose nonce is not the one the state
        digest's root holds (written outside FieldScreen, or put back from an older copy
        together with the cards in them). Counts of records and cards that differ from the row
        map's, buckets the root does not know, and cards refused, are audited as
        ``integrity-alert``.

        ``by_bucket``, when given, receives each bucket's stamp and entries as finally read
        (:func:`listindex.read_all`), and is left empty when anything was found wrong: it is
        what the supervisor queue's kept copy is made from (:mod:`fieldscreen.vault.flagged`).
        """
        untrusted = self._row_map.lists_untrusted(conn, keys)
        entries, bad = listindex.read_all(conn, keys, by_bucket)
        # A bucket the root records that does not authenticate was changed outside FieldScreen
        # (one of an older format is rebuilt quietly: that root knows no list buckets).
        damaged = set(bad) if untrusted is not None else set()
        rows = listindex.record_rows(conn)
        versions = listindex.card_versions(conn)
        refused: list[str] = []
        rebuilt = 0
        foreign = {b for b in untrusted or () if b >= 0}
        if foreign:
            bad = bad | foreign
            entries = {
                rid: e
                for rid, e in entries.items()
                if listindex.bucket_of(keys, rid) not in foreign
            }
        if bad or len(entries) != len(versions) or not _matches(entries, versions):
            report = listindex.check(conn, keys, entries, bad, versions)
            if report.stale_buckets:

                def accept(rid: str, version: int) -> bool:
                    if self._row_map.check(conn, keys, digest.CARDS, rid, (version, "card")):
                        refused.append(rid)
                        return False
                    return True

                written: dict[int, bytes | None] = {}
                listindex.rebuild(conn, keys, report.stale_buckets, accept, written)
                self._row_map.lists_written(written)
                if by_bucket is not None:
                    by_bucket.clear()
                entries, _ = listindex.read_all(conn, keys, by_bucket)
                rebuilt = len(report.stale_buckets)
        fixes = self._checked_rows(conn, keys, rows, entries)
        if untrusted is None:  # a root that knows no list buckets yet: checked, now recorded
            self._row_map.lists_record_all(conn)
        try:
            root = digest.read_root(conn, keys)
        except crypto.DecryptError:
            root = None
        counts = (0, 0) if root is None else (root.records, root.cards)
        if refused or untrusted or damaged or counts != (len(rows), len(versions)):
            if by_bucket is not None:
                by_bucket.clear()
            self._audit(
                conn,
                "integrity-alert",
                detail={
                    "what": "case-list",
                    "buckets": len(set(untrusted or ()) | damaged),
                    "refused": len(refused),
                    "records": len(rows) - counts[0],
                    "cards": len(versions) - counts[1],
                },
            )
        return entries, _fixed(rows, fixes) if fixes else rows, rebuilt

    def _checked_rows(
        self,
        conn: Any,
        keys: Any,
        rows: list[listindex.Row],
        entries: dict[str, listindex.Entry],
    ) -> dict[Any, tuple[Any, ...] | None]:
        """The record rows the list must show as the vault last wrote them, or leave out.

        A carded record's entry holds the status and day the vault wrote with it: the rows
        that agree with their entry are taken as they are; the others (drafts, rows edited or
        put back, entries without them) are checked against the row map, every row at once
        when there are more than :data:`_CHECK_ONE_BY_ONE`. An entry whose row checks is
        completed with the row's status and day (in the caller's transaction)."""
        get = entries.get
        status_at, day_at = listindex.STATUS, listindex.DAY
        others = {
            rid: (status, day)
            for rid, status, day in rows
            if (entry := get(rid)) is None
            or len(entry) <= day_at
            or entry[status_at] != status
            or entry[day_at] != day
        }
        if not others:
            return {}
        check = self._row_fixes(conn, None if len(others) > _CHECK_ONE_BY_ONE else others)
        for rid in others.keys() & check.agreed & entries.keys():
            self._pending_index.set_record(conn, keys, rid, *others[rid])
        return check.fixes


#: Above this many record rows to check one by one against the row map, every row is checked
#: at once (one decryption per row map bucket instead of a look-up per row).
_CHECK_ONE_BY_ONE = 4096


def _fixed(
    rows: list[listindex.Row], fixes: dict[str, tuple[Any, ...] | None]
) -> list[listindex.Row]:
    """``rows`` with a row that disagrees with the row map as the vault last wrote it (its
    status and day), and a row the vault never wrote left out."""
    out: list[listindex.Row] = []
    for row in rows:
        if row[0] not in fixes:
            out.append(row)
            continue
        entry = fixes[row[0]]
        if entry is not None:
            out.append((row[0], entry[1], entry[2] if len(entry) > 2 else row[2]))
    return out


def _matches(entries: dict[str, listindex.Entry], versions: dict[str, int]) -> bool:
    """Whether every card has an entry made from its current version and every entry has a
    card: the entries' versions by record id equal to the cards' (one comprehension and a
    dictionary comparison in C: a third less CPU than a look-up per card at 50,000)."""
    version = listindex.VERSION
    return {rid: entry[version] for rid, entry in entries.items()} == versions


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
            _, _, alias, tier, due, concerns, age, deadline, label, supervise = found[:10]
            listed = None if concerns is None else tuple(concerns.split(sep)) if concerns else ()
            append(
                ListRow(
                    rid,
                    status,
                    updated_day,
                    True,
                    alias,
                    tier,
                    listed,
                    due,
                    age,
                    deadline,
                    label,
                    bool(supervise),
                )
            )
        else:
            append(ListRow(rid, status, updated_day, False))
    return out, matched
