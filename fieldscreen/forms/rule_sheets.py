"""Reading the ``rules`` sheet and the deadlines (the form's ``deadlines`` sheet and the shared
deadlines file its settings name), and checking the names the rules use against the shared
lists. Part of the loader (:mod:`fieldscreen.forms.loader`), kept apart for size.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.model import TIERS, Deadline, Rule, Texts
from fieldscreen.forms.sheets import language_code, read_list, records

__all__ = ["RuleSheets"]

_RULE_COLUMNS = {
    "name",
    "when",
    "tier",
    "concerns",
    "referrals",
    "deadlines",
    "opens",
    "message",
    "withholds",
    "declines",
}
_DEADLINE_COLUMNS = {"name", "jurisdiction", "hours", "label", "basis", "notifies"}


class RuleSheets:
    """The loader's methods for the rules and deadlines; the loader provides ``error`` and
    ``find``."""

    def error(
        self, detail: str, row: int | None = None, column: str = "", sheet: str = "survey"
    ) -> FormError:
        raise NotImplementedError

    def find(self, file_name: str) -> Path | None:
        raise NotImplementedError

    def check_extra_header(
        self, rows: list[list[str | None]], allowed: set[str], sheet: str
    ) -> None:
        for column in (h for h in (rows[0] if rows else []) if h):
            base = column.split("::", 1)[0].strip()
            translated = "::" in column and base in {"message", "label"}
            if base not in allowed or ("::" in column and not translated):
                raise self.error(
                    f"the column {column!r} is not part of the {sheet} sheet; see docs/forms.md",
                    row=1,
                    column=column,
                    sheet=sheet,
                )

    def rules(self, rows: list[list[str | None]], default: str) -> tuple[Rule, ...]:
        self.check_extra_header(rows, _RULE_COLUMNS, "rules")
        rules = []
        seen: set[str] = set()
        for number, record in records(rows):
            name = record.get("name", "")
            if not name:
                raise self.error(
                    "every rule needs a name", row=number, column="name", sheet="rules"
                )
            if name in seen:
                raise self.error(
                    f"the rule {name!r} appears twice; rule names must be unique",
                    row=number,
                    column="name",
                    sheet="rules",
                )
            seen.add(name)
            when = record.get("when", "")
            if not when:
                raise self.error(
                    "every rule needs a 'when' expression", row=number, column="when", sheet="rules"
                )
            tier = record.get("tier", "")
            if tier and tier not in TIERS:
                raise self.error(
                    f"the tier must be one of {', '.join(TIERS)} or blank",
                    row=number,
                    column="tier",
                    sheet="rules",
                )
            messages = {
                language_code(k.split("::", 1)[1], default): v
                for k, v in record.items()
                if k.startswith("message::")
            }
            if "message" in record:
                messages.setdefault(default, record["message"])
            rules.append(
                Rule(
                    name=name,
                    when=when,
                    row=number,
                    tier=tier,
                    concerns=tuple(record.get("concerns", "").split()),
                    referrals=tuple(record.get("referrals", "").split()),
                    deadlines=tuple(record.get("deadlines", "").split()),
                    opens=tuple(record.get("opens", "").split()),
                    message=Texts(messages, default),
                    withholds=tuple(record.get("withholds", "").split()),
                    declines=tuple(record.get("declines", "").split()),
                )
            )
        return tuple(rules)

    def shared_deadlines(
        self, file_name: str, own: tuple[Deadline, ...], default: str
    ) -> tuple[Deadline, ...]:
        """The deadlines of a shared list (``deadlines_file``) after the form's own."""
        found = self.find(file_name)
        if found is None or not file_name.endswith(".csv"):
            raise self.error(
                f"the deadlines file {file_name!r} was not found beside the form or in its "
                "lists/ folder (it must be a .csv file)",
                row=2,
                column="deadlines_file",
                sheet="settings",
            )
        try:
            with found.open(encoding="utf-8-sig", newline="") as handle:
                rows: list[list[str | None]] = [list(r) for r in csv.reader(handle)]
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise FormError(
                f"the deadlines file cannot be read ({type(error).__name__})", file=str(found)
            ) from None
        shared = self.deadlines(rows, default, sheet="csv", file=str(found))
        mine = {(d.name, d.jurisdiction) for d in own}
        for d in shared:
            if (d.name, d.jurisdiction) in mine:
                raise self.error(
                    f"the deadline {d.name!r} ({d.jurisdiction}) is both on the deadlines sheet "
                    f"and in {file_name}; keep it in one place",
                    column="name",
                    sheet="deadlines",
                )
        return own + shared

    def deadlines(
        self,
        rows: list[list[str | None]],
        default: str,
        sheet: str = "deadlines",
        file: str = "",
    ) -> tuple[Deadline, ...]:
        def fail(detail: str, row: int, column: str) -> FormError:
            if file:
                return FormError(detail, file=file, sheet=sheet, row=row, column=column)
            return self.error(detail, row=row, column=column, sheet=sheet)

        if file and (not rows or "name" not in [(h or "").strip() for h in rows[0]]):
            raise fail("a deadlines file needs a header row with a 'name' column", 1, "name")
        for column in (h for h in (rows[0] if rows else []) if h):
            base = column.split("::", 1)[0].strip()
            if base not in _DEADLINE_COLUMNS or ("::" in column and base != "label"):
                raise fail(
                    f"the column {column!r} is not part of the deadlines sheet; see docs/forms.md",
                    1,
                    column,
                )
        out = []
        seen: set[tuple[str, str]] = set()
        for number, record in records(rows):
            name = record.get("name", "")
            if not name:
                raise fail("every deadline needs a name", number, "name")
            if (name, record.get("jurisdiction", "*")) in seen:
                raise fail(
                    f"the deadline {name!r} appears twice for one jurisdiction; keep one row",
                    number,
                    "name",
                )
            seen.add((name, record.get("jurisdiction", "*")))
            jurisdiction = record.get("jurisdiction", "*")
            if jurisdiction != "*" and not re.fullmatch(r"[A-Z]{2}", jurisdiction):
                raise fail(
                    "the jurisdiction must be a two-letter country code (US, MX ...) or '*'",
                    number,
                    "jurisdiction",
                )
            try:
                hours = float(record.get("hours", ""))
                if hours < 0:
                    raise ValueError
            except ValueError:
                raise fail("hours must be a number of hours, 0 or more", number, "hours") from None
            labels = {
                language_code(k.split("::", 1)[1], default): v
                for k, v in record.items()
                if k.startswith("label::")
            }
            if "label" in record:
                labels.setdefault(default, record["label"])
            out.append(
                Deadline(
                    name,
                    jurisdiction,
                    hours,
                    number,
                    Texts(labels, default),
                    record.get("basis", ""),
                    tuple(record.get("notifies", "").split()),
                )
            )
        return tuple(out)

    def check_rules(self, rules: tuple[Rule, ...], deadlines: tuple[Deadline, ...]) -> None:
        known = {d.name for d in deadlines}
        vocab: dict[str, set[str] | None] = {}
        for column, file_name in (
            ("concerns", "protection_concerns.csv"),
            ("referrals", "service_types.csv"),
            ("withholds", "recipients.csv"),
            ("declines", "service_types.csv"),
        ):
            found = self.find(file_name)
            vocab[column] = {c.name for c in read_list(found)} if found else None
        for rule in rules:
            for name in rule.deadlines:
                if name not in known:
                    raise self.error(
                        f"the deadline {name!r} is not on the deadlines sheet; add it there",
                        row=rule.row,
                        column="deadlines",
                        sheet="rules",
                    )
            for column, values in (
                ("concerns", rule.concerns),
                ("referrals", rule.referrals),
                ("withholds", rule.withholds),
                ("declines", rule.declines),
            ):
                allowed = vocab[column]
                for value in values:
                    if allowed is not None and value not in allowed:
                        raise self.error(
                            f"{value!r} is not in the {column} list; use a code from it",
                            row=rule.row,
                            column=column,
                            sheet="rules",
                        )
