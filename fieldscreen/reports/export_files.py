"""Writing an export's tables to CSV, XLSX or JSON, and sealing an identifiable export.

Every output holds the tables of :func:`fieldscreen.reports.export.build_tables`, the codebook
and a README that names the profile. Lists (multiple choices) are written space-separated in CSV
and XLSX. Text that a spreadsheet would run as a formula (starting with ``= + - @``) is written
with a leading apostrophe in CSV and stored as plain text in XLSX.

An identifiable export (profiles ``full`` and ``recipient:<code>``) never lies in clear on disk:
its files are packed and encrypted under the *export passphrase* (Argon2id, AES-256-GCM) into one
``IDENTIFIABLE-….fsx`` file, which :func:`unpack` opens on the central team's machine.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.paths import atomic_write_bytes
from fieldscreen.reports.errors import ReportError
from fieldscreen.reports.export import ATTACHMENT_PATH, CODEBOOK_COLUMNS, Profile, Table

__all__ = ["FORMATS", "PACK_FORMAT", "pack", "readme", "render", "unpack"]

FORMATS = ("csv", "xlsx", "json")
PACK_FORMAT = "fieldscreen-export/1"
_FORMULA = ("=", "+", "-", "@")


def _flat(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return value


def _csv_cell(value: Any) -> Any:
    value = _flat(value)
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return "" if value is None else value


def readme(profile: Profile, summary: Mapping[str, Any], lang: str) -> str:
    """The README that travels with every export."""
    mark = "IDENTIFIABLE -- " if profile.identifiable else ""
    lines = [
        f"{mark}FieldScreen export, profile {profile.name}, labels in {lang}.",
        "",
        "Tables: one per form (fields in form order), one per repeat (<form>.<repeat>, keyed by",
        "record_id, device_id and parent_index), 'screenings' (one row per record), and",
        "'codebook'.",
        f"Records exported: {summary.get('exported', 0)}; not exported: "
        f"{summary.get('not_exported', 0)} (see problems in export.json or the command output).",
        "",
    ]
    lines += _contested_lines(summary.get("contested") or ())
    if summary.get("drafts"):
        lines += [
            f"Of these, {summary['drafts']} are unfinished interviews sealed by travel mode",
            "(kind 'draft' in 'screenings'): answers stop where the interview stopped, and no",
            "tier was given. Follow each one up: the child was never fully screened.",
            "",
        ]
    if summary.get("case_events"):
        lines += [
            f"Case events (follow-ups, referrals, closures ...): {summary['case_events']}, in",
            "'events' (each once) and 'timeline' (per child: the screening, then its events in",
            "order, step 1, 2, ...).",
            "",
        ]
    if summary.get("case_events_held"):
        lines += [
            f"{summary['case_events_held']} case events are in no timeline ('events_held'): sent",
            "by a device that neither screened the child nor is of its site, or naming no",
            "screening held. Someone may have forged them; check the devices named.",
            "",
        ]
    if profile.identifiable:
        lines += [
            "Files attached to media questions (photos of documents, signed consent) are in",
            "attachments/<record_id>-<device_id>/<form>/, named as the answer in the form's table.",
            "This export identifies children. Keep it only in the central team's encrypted",
            "export folder, share it with no one outside the case-management team, and delete",
            "it when the retention period in docs/export.md ends.",
        ]
    else:
        lines += [
            "Fields marked identifying were removed and dates generalised to the month. Small",
            "groups can still point at a child: do not publish row-level data.",
        ]
    if profile.recipient:
        lines.append(f"Only children who consented to sharing with '{profile.recipient}'.")
    return "\n".join(lines) + "\n"


def _contested_lines(contested: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the README says of record ids sent by more than one device (``Contest.to_json``)."""
    if not contested:
        return []
    lines = [
        f"{len(contested)} record ids were sent by more than one device. The server keeps the",
        "first copy it receives, which may be another device's; the export opened every copy and",
        "kept each one that is genuinely its device's own (signed by that device, sealed for it,",
        "naming it inside). A copy left out did not: treat its device as suspect.",
    ]
    undecided = [c for c in contested if len(c.get("exported", ())) > 1]
    if undecided:
        lines += [
            f"{len(undecided)} of them have a genuine copy from each device: every copy is",
            "exported, one row per device (record_id with device_id). Decide which child each",
            "one is before you act on it.",
        ]
    lines.append("")
    for contest in contested:
        exported = ", ".join(contest.get("exported", ())) or "none"
        left = ", ".join(f"{o['device']} ({o['why']})" for o in contest.get("left_out", ()))
        lines.append(
            f"  {contest['record_id']}: exported from {exported}; left out: {left or 'none'}"
        )
    return [*lines, ""]


def render(
    fmt: str,
    tables: Mapping[str, Table],
    book: Sequence[Sequence[str]],
    text: str,
    meta: Mapping[str, Any],
) -> dict[str, bytes]:
    """The export's files (name -> content) in ``fmt``."""
    files: dict[str, bytes] = {"README.txt": text.encode("utf-8")}
    if fmt == "json":
        data = {
            **meta,
            "tables": {name: t.to_json() for name, t in tables.items()},
            "codebook": [dict(zip(CODEBOOK_COLUMNS, row, strict=True)) for row in book],
        }
        files["export.json"] = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    elif fmt == "csv":
        for name, table in [*tables.items(), ("codebook", None)]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            if table is None:
                writer.writerows([CODEBOOK_COLUMNS, *book])
            else:
                writer.writerow(table.columns)
                writer.writerows([_csv_cell(v) for v in row] for row in table.rows)
            files[f"{name}.csv"] = buffer.getvalue().encode("utf-8")
    elif fmt == "xlsx":
        files["export.xlsx"] = _xlsx(tables, book)
    else:
        raise ReportError("export-format-unknown", format=fmt)
    return files


def _xlsx(tables: Mapping[str, Table], book: Sequence[Sequence[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=False)
    workbook.remove(workbook.active)
    used: set[str] = set()
    sheets: list[tuple[str, list[Sequence[Any]]]] = [
        (n, [t.columns, *t.rows]) for n, t in tables.items()
    ]
    sheets.append(("codebook", [list(CODEBOOK_COLUMNS), *book]))
    for name, rows in sheets:
        title = name[:31]
        n = 1
        while title in used:
            n += 1
            title = f"{name[: 28 - len(str(n))]}~{n}"
        used.add(title)
        sheet = workbook.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, raw in enumerate(row, start=1):
                value = _flat(raw)
                if value is None:
                    continue
                cell = sheet.cell(row=r, column=c)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_files(out: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` into ``out`` (created private), each atomically."""
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for name, data in files.items():
        if not _plain_name(name):
            raise ReportError("export-pack-invalid")
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_bytes(target, data)  # 0600, synced, renamed into place
        written.append(target)
    return written


def pack(
    files: Mapping[str, bytes], passphrase: bytes, *, params: crypto.KdfParams | None = None
) -> bytes:
    """Zip ``files`` and encrypt the archive under ``passphrase``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    blob = crypto.protect_private_key(buffer.getvalue(), passphrase, params=params)
    return json.dumps({"format": PACK_FORMAT, "protected": blob}).encode("utf-8")


def _plain_name(name: str) -> bool:
    """A file an export holds: a name in its folder, or an attachment in its record's folder
    (:data:`~fieldscreen.reports.export.ATTACHMENT_PATH`) -- never a path out of it."""
    if ".." in name or name.startswith("."):
        return False
    return "/" not in name or bool(ATTACHMENT_PATH.fullmatch(name))


def unpack(data: bytes, passphrase: bytes) -> dict[str, bytes]:
    """Reverse :func:`pack`.

    Raises:
        ReportError: ``export-pack-invalid`` for a wrong passphrase or a damaged file.
    """
    try:
        outer = json.loads(data)
        if outer.get("format") != PACK_FORMAT:
            raise ValueError("format")
        raw = crypto.unprotect_private_key(outer["protected"], passphrase)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return {name: archive.read(name) for name in archive.namelist() if _plain_name(name)}
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
        zipfile.BadZipFile,
        KnownError,
    ):
        raise ReportError("export-pack-invalid") from None
