"""Decrypting for the central team, off the server (see ``docs/export.md``): ``export`` writes
the tables (an identifiable profile packed under an export passphrase), ``export-open`` unpacks
such a pack into a folder."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.cli.common import AddCommand, Parents, emit, open_storage
from fieldscreen.sync.server.cli.passphrases import private_key, read_export_passphrase

__all__ = ["add_commands"]


def cmd_export(args: argparse.Namespace) -> int:
    """Decrypt for the central team, off the server (see ``docs/export.md``)."""
    from fieldscreen.reports.export import (
        ExportProblems,
        attachment_files,
        build_tables,
        codebook,
        open_records,
        parse_profile,
        versions_used,
    )
    from fieldscreen.reports.export_files import pack, readme, render, write_files
    from fieldscreen.reports.form_versions import FormCatalogue

    profile = parse_profile(args.profile)
    storage = open_storage(args)
    private = private_key(args, args.key)
    export_passphrase = read_export_passphrase(args, confirm=True) if profile.identifiable else b""
    forms = FormCatalogue()
    forms.add_builtin()
    forms.add_documents(storage.repos.documents.forms())
    for folder in args.forms or ():
        forms.add_folder(Path(folder))
    keys: dict[str, bytes | None] = {}

    def device_key(device_id: str) -> bytes | None:
        if device_id not in keys:
            row = storage.repos.devices.get(device_id)
            keys[device_id] = None if row is None else row.public_key
        return keys[device_id]

    problems = ExportProblems()
    opened = 0

    def counted(records: Any) -> Any:
        nonlocal opened
        for record in records:
            opened += 1
            yield record

    records = list(
        counted(
            open_records(
                storage.repos.reporting.iter_envelopes(),
                device_key,
                private,
                forms,
                problems,
                contested=storage.repos.reporting.iter_contested(),
            )
        )
    )

    def site_of(device_id: str) -> str | None:
        row = storage.repos.devices.get(device_id)
        return None if row is None else row.site

    tables = build_tables(
        records, forms, profile, labels=args.lang if args.labels else None, site_of=site_of
    )
    screenings = tables["screenings"]
    exported, kind = len(screenings.rows), screenings.columns.index("kind")
    segments = sum(1 for record in records if record.kind == "audit")  # not screenings
    case_events = sum(1 for record in records if record.kind == "event")  # nor these
    opened -= segments + case_events
    events_held = tables["events_held"].rows if "events_held" in tables else []
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    summary = {
        "profile": profile.name,
        "format": args.format,
        "lang": args.lang,
        "exported": exported,
        "drafts": sum(1 for row in screenings.rows if row[kind] == "draft"),
        "audit_segments": segments,
        "audit_entries": len(tables["audit"].rows) if "audit" in tables else 0,
        "case_events": len(tables["events"].rows) if "events" in tables else 0,
        "case_events_held": len(events_held),
        "held_back_by_consent": opened - exported,
        "not_exported": problems.total,
        "contested": [c.to_json() for c in problems.contested],
        "contested_undecided": len(problems.undecided()),
        "problems": problems.to_json(),
        "form_versions": sorted(f"{f}@{v}" for f, v in forms.forms),
        "forms_not_loaded": forms.skipped,
    }
    files = render(
        args.format,
        tables,
        codebook(forms, profile, args.lang, used=versions_used(records, forms)),
        readme(profile, summary, args.lang),
        {**summary, "generated": stamp},
    )
    files.update(attachment_files(records, profile))  # identifiable profiles only
    slug = profile.name.replace(":", "-")
    out = Path(args.out)
    if profile.identifiable:
        target = out / f"IDENTIFIABLE-export-{slug}-{stamp}.fsx"
        write_files(out, {target.name: pack(files, export_passphrase)})
    else:
        target = out / f"export-{slug}-{stamp}"
        write_files(target, files)
    storage.repos.audit.record(
        "cli",
        "export",
        {k: summary[k] for k in ("profile", "format", "exported", "held_back_by_consent")}
        | {"not_exported": problems.total, "contested": len(problems.contested)}
        | {"case_events_held": len(events_held)},
    )
    for row in events_held:  # forged or replayed for someone else's case: named in the audit
        storage.repos.audit.record(
            "cli", "case-event-held", {"event": row[0], "device": row[2], "why": row[5]}
        )
    emit(
        args,
        {**summary, "out": str(target)},
        f"{exported} records exported to {target} ({opened - exported} held back by consent); "
        f"not exported: {len(problems.unverified)} unverified, "
        f"{len(problems.undecryptable)} undecryptable, {len(problems.unreadable)} unreadable, "
        f"{len(problems.unknown_version)} of an unknown form version"
        + (f"; {len(problems.contested)} contested" if problems.contested else ""),
    )
    if problems.contested:  # the README lists them too
        undecided = len(problems.undecided())
        print(
            f"fieldscreen-server: {len(problems.contested)} record ids were sent by more than one "
            f"device; {undecided} have a genuine copy from each (all exported: decide which is "
            "the child's), the others kept only the copy genuinely its device's own. See the "
            "README.",
            file=sys.stderr,
        )
    if problems.unknown_version:  # the forms that did not load may be the missing versions
        for line in [*problems.messages(), *(f"form not loaded: {s}" for s in forms.skipped)]:
            print(f"fieldscreen-server: {line}", file=sys.stderr)
    if problems.total:
        print(
            f"fieldscreen-server: {problems.total} records could not be exported; their ids are "
            "in the --json output. Check those devices' enrolment and the key.",
            file=sys.stderr,
        )
    return 0 if problems.total == 0 else 1


def cmd_export_open(args: argparse.Namespace) -> int:
    """Unpack an identifiable export into a folder, with the export passphrase."""
    from fieldscreen.reports.export_files import unpack, write_files

    try:
        data = Path(args.file).read_bytes()
    except OSError:
        raise ServerError("export-pack-invalid") from None
    files = unpack(data, read_export_passphrase(args, confirm=False))
    written = write_files(Path(args.out), files)
    emit(
        args,
        {"out": args.out, "files": sorted(str(p.relative_to(Path(args.out))) for p in written)},
        f"{len(written)} files written to {args.out} (IDENTIFIABLE: delete when done)",
    )
    return 0


def add_commands(add: AddCommand, parents: Parents) -> None:
    p = add(
        "export",
        cmd_export,
        "decrypt for the central team (off the server)",
        parents.passphrase,
        parents.export_pass,
    )
    p.add_argument("--key", required=True, metavar="FILE", help="sealing-private.json")
    p.add_argument("--format", choices=("csv", "xlsx", "json"), default="csv")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument(
        "--profile",
        default="deidentified",
        metavar="PROFILE",
        help="full, deidentified (default) or recipient:CODE",
    )
    p.add_argument("--lang", choices=("en", "es"), default="en", help="language of labels")
    p.add_argument("--labels", action="store_true", help="write choices as labels instead of codes")
    p.add_argument(
        "--forms",
        action="append",
        metavar="DIR",
        help="a folder of older form versions (.md, .xlsx) to read records with (repeat)",
    )
    p = add("export-open", cmd_export_open, "unpack an identifiable export", parents.export_pass)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--out", required=True, metavar="DIR")
