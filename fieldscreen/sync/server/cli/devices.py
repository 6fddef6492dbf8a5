"""Who may reach the server: ``enroll-code`` (a laptop's one-time enrolment code), ``devices``
(list, revoke, wipe or restore one), ``token`` (a staff credential) and ``partner`` (a partner
organisation's credential, which reaches only its handover packets)."""

from __future__ import annotations

import argparse
import sys

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.cli.common import AddCommand, Parents, emit, open_storage

__all__ = ["add_commands"]


def cmd_enroll_code(args: argparse.Namespace) -> int:
    code = open_storage(args).repos.credentials.create_enrol_code(args.site, hours=args.hours)
    emit(
        args,
        {"code": code, "site": args.site, "hours": args.hours},
        f"{code}  (site {args.site}, valid {args.hours} h, one use)",
    )
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from fieldscreen.sync.server.storage import Principal

    storage = open_storage(args)
    if args.action == "list":
        rows = [
            d.public()
            for d in storage.repos.devices.visible_to(Principal("admin", frozenset(), "cli"))
        ]
        lines = [
            f"{d['id']}  {d['site']}  {d['status']}  last contact {d['last_contact'] or '-'}"
            + ("  ROLLBACK SUSPECTED" if d["rollback_suspected"] else "")
            for d in rows
        ]
        emit(args, rows, "\n".join(lines) or "No devices enrolled.")
        return 0
    if not args.device:
        raise ServerError("server-device-unknown", device="(none given)")
    status = {"revoke": "revoked", "wipe": "wipe", "restore": "active"}[args.action]
    row = storage.repos.devices.set_status(args.device, status, "cli")
    emit(args, row.public(), f"{row.id}: {row.status}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    token = open_storage(args).repos.credentials.create_credential(
        args.role, args.site or (), args.label
    )
    # The token alone on standard output, so `token ... > coordinator.token` is the credential
    # file the app's Batches and Report pages open; the advice goes to standard error.
    emit(args, {"token": token, "role": args.role, "sites": args.site or []}, token)
    if not args.json:
        print(
            "(shown once: save it as the coordinator's credential file, or in a password "
            "manager; it cannot be shown again)",
            file=sys.stderr,
        )
    return 0


def cmd_partner(args: argparse.Namespace) -> int:
    storage = open_storage(args)
    if args.action == "list":
        rows = storage.repos.handovers.partners()
        lines = [
            f"{r['code']}  {r['label']}  added {r['created']}"
            + ("  REVOKED" if r["revoked"] else "")
            for r in rows
        ]
        emit(args, rows, "\n".join(lines) or "No partners added.")
        return 0
    if not args.code:
        raise ServerError("server-partner-unknown", partner="(none given)")
    if args.action == "revoke":
        storage.repos.handovers.revoke_partner(args.code)
        emit(args, {"code": args.code, "revoked": True}, f"{args.code}: revoked")
        return 0
    token = storage.repos.handovers.add_partner(args.code, args.label or args.code)
    # The token alone on standard output, as `token` does: the partner's credential file.
    emit(args, {"code": args.code, "token": token}, token)
    if not args.json:
        print(
            "(shown once: give it to the partner for 'fieldscreen-partner fetch --token-file'; "
            "it reaches only this partner's handover packets)",
            file=sys.stderr,
        )
    return 0


def add_commands(add: AddCommand, parents: Parents) -> None:
    del parents  # none of these reads a passphrase
    p = add("enroll-code", cmd_enroll_code, "issue a one-time enrolment code")
    p.add_argument("--site", default="main")
    p.add_argument("--hours", type=int, default=72)
    p = add("devices", cmd_devices, "list, revoke, wipe or restore devices")
    p.add_argument("action", choices=("list", "revoke", "wipe", "restore"))
    p.add_argument("device", nargs="?")
    p = add("token", cmd_token, "issue an admin or coordinator credential")
    p.add_argument("--role", choices=("admin", "coordinator"), required=True)
    p.add_argument("--site", action="append", help="sites a coordinator sees (repeat)")
    p.add_argument("--label", default="staff")
    p = add(
        "partner",
        cmd_partner,
        "add a partner organisation of the published directory (a credential that reaches only "
        "its handover packets), list or revoke one",
    )
    p.add_argument("action", choices=("add", "list", "revoke"))
    p.add_argument("code", nargs="?", metavar="CODE", help="the partner's id in the directory")
    p.add_argument("--label", default="", help="a note for the list (default: the code)")
