"""``fieldscreen-server``: run the central server and administer it (see ``docs/cli.md``).

Every command takes ``--db URL`` (default: an embedded SQLite file in the server's data folder,
or ``FIELDSCREEN_SERVER_DB``), ``--json`` for machine-readable output and ``--debug`` for
tracebacks. Passphrases are read from a prompt or ``--passphrase-file``, never the command line.
The organisation's private keys are only ever written to the folder ``init-org --out`` names,
protected by a passphrase; the server's database keeps the public halves.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import gc
import json
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import platformdirs

from fieldscreen import __version__
from fieldscreen.errors import KnownError, run_guarded
from fieldscreen.prompt import ask_passphrase
from fieldscreen.sync.errors import ServerError

__all__ = ["main"]

MIN_PASSPHRASE = 12
KEY_FILES = {"sealing": "sealing-private.json", "signing": "signing-private.json"}
PUBLIC_FILE = "organisation-public.json"


def default_db() -> str:
    override = os.environ.get("FIELDSCREEN_SERVER_DB")
    if override:
        return override
    folder = Path(platformdirs.user_data_dir("FieldScreen-server", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name != "nt":
        with contextlib.suppress(OSError):  # another owner's folder: its database is checked
            folder.chmod(0o700)  # the server's own folder: nobody else lists or reads it
    return str(folder / "server.sqlite3")


_OPENED: list[Any] = []


def _storage(args: argparse.Namespace) -> Any:
    from fieldscreen.sync.server.storage import Storage

    storage = Storage.open(args.db or default_db())
    _OPENED.append(storage)  # closed when the command ends
    for notice in storage.notices:
        print(f"fieldscreen-server: {notice}", file=sys.stderr)
    return storage


PASSPHRASE_ENV = "FIELDSCREEN_SERVER_PASSPHRASE_FILE"  # noqa: S105 -- a variable's name


def _server_passphrase_file(args: argparse.Namespace) -> str | None:
    """Where the server's passphrase is kept: ``--passphrase-file``, else the environment."""
    return getattr(args, "passphrase_file", None) or os.environ.get(PASSPHRASE_ENV) or None


def _read_file_passphrase(path: str) -> bytes:
    try:
        text = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        raise ServerError("passphrase-file-unreadable", path=path) from None
    return text.encode("utf-8")


def _server_passphrase(args: argparse.Namespace, prompt: str = "Server passphrase: ") -> bytes:
    """The server's passphrase (it unlocks the receipt key): from its file, or a prompt."""
    path = _server_passphrase_file(args)
    if path:
        return _read_file_passphrase(path)
    if not sys.stdin.isatty():
        raise ServerError("server-passphrase-needed")
    return ask_passphrase(prompt, error=ServerError).encode("utf-8")


def _unlock(args: argparse.Namespace, storage: Any) -> None:
    """Unlock the receipt key; on a database that has none yet, the passphrase creates it."""
    creating = storage.receipt_key_state() == "missing"
    passphrase = _server_passphrase(args)
    if creating and len(passphrase.decode("utf-8")) < MIN_PASSPHRASE:
        raise ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE)
    storage.unlock(passphrase)


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, sort_keys=True) if args.json else text)


def _read_passphrase(args: argparse.Namespace, *, confirm: bool) -> bytes:
    if getattr(args, "passphrase_file", None):
        try:
            text = Path(args.passphrase_file).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            raise ServerError("passphrase-file-unreadable", path=args.passphrase_file) from None
    else:
        text = ask_passphrase(
            "Passphrase: ",
            again="Passphrase again: " if confirm else None,
            differs=ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE),
            error=ServerError,
        )
    if confirm and len(text) < MIN_PASSPHRASE:
        raise ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE)
    return text.encode("utf-8")


def _private_key(args: argparse.Namespace, path: str) -> bytes:
    from fieldscreen import crypto

    try:
        blob = json.loads(Path(path).read_text(encoding="utf-8"))
        return crypto.unprotect_private_key(blob, _read_passphrase(args, confirm=False))
    except (OSError, ValueError, RecursionError, KnownError):
        raise ServerError("server-key-file", path=path) from None


# ---------------------------------------------------------------------- commands
_WORKER_ENV = "FIELDSCREEN_SERVER_WORKER"


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fieldscreen.sync.server.api import ServerConfig, create_app

    storage = _storage(args)
    _initialised(storage)  # refuse to serve before init-org
    config = ServerConfig(max_body_bytes=args.max_body, rate=args.rate, burst=args.burst)
    _check_address(args.host, args.port)
    passphrase_file = _server_passphrase_file(args)
    if args.workers > 1 and not passphrase_file:
        raise ServerError("server-passphrase-needed")  # each process reads it from the file
    _unlock(args, storage)  # the first start with a passphrase creates the receipt key
    storage.keys()
    print(
        f"fieldscreen-server {__version__} on http://{args.host}:{args.port}"
        f" ({args.workers} process{'es' if args.workers > 1 else ''})",
        file=sys.stderr,
    )
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": "warning",
        "proxy_headers": True,
        "forwarded_allow_ips": args.forwarded_allow_ips,
        "access_log": False,
    }
    if args.workers > 1:
        # Several processes share the database, and with it the rate limits and request
        # nonces (fieldscreen/sync/server/gate.py): each worker builds its app from this.
        storage.close()
        os.environ[_WORKER_ENV] = json.dumps(
            {
                "db": args.db or default_db(),
                "passphrase_file": str(Path(passphrase_file or "").resolve()),
                "max_body": args.max_body,
                "rate": args.rate,
                "burst": args.burst,
            }
        )
        uvicorn.run(
            "fieldscreen.sync.server.cli:worker_app", factory=True, workers=args.workers, **common
        )
        return 0
    app = create_app(storage, config)
    _freeze_startup_objects()
    uvicorn.run(app, **common)
    return 0


def _initialised(storage: Any) -> None:
    """Refuse before ``init-org``; a receipt key not made yet is made by the first unlock."""
    try:
        storage.keys()
    except ServerError as error:
        if error.code != "server-receipt-key-missing":
            raise


def _check_address(host: str, port: int) -> None:
    """Refuse in words, before saying where it serves, an address the server cannot listen
    on: the port taken (another server still running), or the host no interface has."""
    if not 0 <= port <= 65535:
        raise ServerError(
            "server-address-bad", host=host, port=port, reason="ports go from 1 to 65535"
        )
    try:
        # The family of the address as uvicorn will resolve it (an IPv6 host is no error).
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        probe = socket.create_server((host, port), family=family[0][0])
    except OSError as error:
        code = "server-port-in-use" if error.errno == errno.EADDRINUSE else "server-address-bad"
        reason = os.strerror(error.errno) if error.errno and error.errno > 0 else error.strerror
        raise ServerError(code, host=host, port=port, reason=reason or "") from None
    probe.close()


def _freeze_startup_objects() -> None:
    """Move everything imported and built at startup out of the garbage collector's sight: the
    full collections that batches of envelopes trigger then walk only what requests made,
    not the hundreds of thousands of objects of the web framework and the database layer."""
    gc.collect()
    gc.freeze()


def worker_app() -> Any:
    """The app of one worker process of ``serve --workers N``."""
    from fieldscreen.sync.server.api import ServerConfig, create_app
    from fieldscreen.sync.server.storage import Storage

    settings = json.loads(os.environ[_WORKER_ENV])
    storage = Storage.open(
        settings["db"], passphrase=_read_file_passphrase(settings["passphrase_file"])
    )
    _freeze_startup_objects()
    config = ServerConfig(
        max_body_bytes=settings["max_body"], rate=settings["rate"], burst=settings["burst"]
    )
    return create_app(storage, config)


def cmd_init_org(args: argparse.Namespace) -> int:
    from fieldscreen import crypto
    from fieldscreen.sync.canonical import b64e
    from fieldscreen.sync.envelope import key_id_hex

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise ServerError("server-out-exists", path=str(out))
    passphrase = _read_passphrase(args, confirm=True)
    storage = _storage(args)
    sealing_private, sealing_public = crypto.generate_sealing_keypair()
    signing_private, signing_public = crypto.generate_signing_keypair()
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name != "nt":
        out.chmod(0o700)  # an existing empty folder too: it is about to hold private keys
    old = os.umask(0o077)
    try:
        for kind, private in (("sealing", sealing_private), ("signing", signing_private)):
            blob = crypto.protect_private_key(private, passphrase)
            (out / KEY_FILES[kind]).write_text(json.dumps(blob), encoding="utf-8")
        public = {
            "organisation": args.name,
            "sealing_public_key": b64e(sealing_public),
            "signing_public_key": b64e(signing_public),
            "sealing_key_id": key_id_hex(sealing_public),
            "signing_key_id": key_id_hex(signing_public),
        }
        (out / PUBLIC_FILE).write_text(json.dumps(public, indent=2), encoding="utf-8")
    finally:
        os.umask(old)
    storage.set_org_keys(args.name, sealing_public, signing_public)
    _emit(
        args,
        {"out": str(out), **{k: public[k] for k in ("sealing_key_id", "signing_key_id")}},
        f"Organisation keys written to {out} (private halves protected by the passphrase). "
        "Keep that folder off the server, with the central team.",
    )
    return 0


def cmd_match_secret(args: argparse.Namespace) -> int:
    """A new organisation match secret (docs/privacy-matching.md), protected by a passphrase
    like the organisation's private keys, for ``provision-file --match-secret``."""
    from fieldscreen import crypto
    from fieldscreen.reports.matching import MATCH_SECRET_BYTES

    out = Path(args.out)
    if out.exists():
        raise ServerError("server-out-exists", path=str(out))
    passphrase = _read_passphrase(args, confirm=True)
    blob = crypto.protect_private_key(crypto.random_bytes(MATCH_SECRET_BYTES), passphrase)
    old = os.umask(0o077)
    try:
        out.write_text(json.dumps(blob), encoding="utf-8")
    finally:
        os.umask(old)
    _emit(
        args,
        {"out": str(out)},
        f"Match secret written to {out} (protected by the passphrase). Keep it with the "
        "central team, off the server; give it to provision-file --match-secret.",
    )
    return 0


def _check_lock_minutes(policies: dict[str, int | bool]) -> None:
    """The lock policies are settings' values a device would refuse: out of the settings'
    range, or an interview time shorter than the idle lock (which would never apply), are
    refused here rather than written into a signed file every laptop then rejects."""
    from fieldscreen.settings import SETTINGS

    ranges = {s.name: (s.minimum, s.maximum) for s in SETTINGS}
    for name in ("auto_lock_minutes", "interview_lock_minutes"):
        value = policies.get(name)
        if value is None:
            continue
        low, high = ranges[name]
        if (low is not None and value < low) or (high is not None and value > high):
            raise ServerError(
                "provision-lock-range",
                name="--" + name.replace("_", "-"),
                low=low,
                high=high,
                value=value,
            )
    auto, interview = policies.get("auto_lock_minutes"), policies.get("interview_lock_minutes")
    if auto is not None and interview is not None and interview < auto:
        raise ServerError("provision-interview-lock-shorter", interview=interview, auto=auto)


def cmd_provision_file(args: argparse.Namespace) -> int:
    from fieldscreen.sync.bundle import write_atomic
    from fieldscreen.sync.client import check_url
    from fieldscreen.sync.errors import EnvelopeError
    from fieldscreen.sync.signed import Provisioning, Site, sign_document

    try:
        sites = tuple(Site.parse(text) for text in args.site or ())
    except EnvelopeError as exc:
        raise ServerError("setting-invalid", name="--site", reason=exc.reason) from None
    policies: dict[str, int | bool] = {
        name: getattr(args, name)
        for name in (
            "auto_lock_minutes",
            "interview_lock_minutes",
            "follow_up_window_days",
            "clipboard_clear_seconds",
        )
        if getattr(args, name) is not None
    }
    _check_lock_minutes(policies)
    for name in ("travel_mode_allowed", "background_sync"):
        if getattr(args, name) is not None:
            policies[name] = getattr(args, name) == "yes"
    storage = _storage(args)
    keys = storage.keys()
    check_url(args.server_url, allow_insecure=args.allow_insecure_http)
    private = _private_key(args, args.key)
    match_secret = _private_key(args, args.match_secret) if args.match_secret else None
    if match_secret is not None and len(match_secret) != 32:
        raise ServerError("server-key-file", path=args.match_secret)
    provisioning = Provisioning(
        organisation=keys.name,
        server_url=args.server_url,
        sealing_public_key=keys.sealing_public,
        signing_public_key=keys.signing_public,
        receipt_public_key=keys.receipt_public,
        sites=sites,
        language=args.lang,
        allow_insecure_http=args.allow_insecure_http,
        policies=policies,
        match_secret=match_secret,
    )
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    document = sign_document(
        "provisioning",
        "provisioning",
        version,
        provisioning.to_content(),
        private,
        keys.signing_public,
    )
    write_atomic(Path(args.out), document.to_bytes())
    _emit(args, {"out": args.out, "version": version}, f"Provisioning file written to {args.out}")
    return 0


def cmd_enroll_code(args: argparse.Namespace) -> int:
    code = _storage(args).create_enrol_code(args.site, hours=args.hours)
    _emit(
        args,
        {"code": code, "site": args.site, "hours": args.hours},
        f"{code}  (site {args.site}, valid {args.hours} h, one use)",
    )
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from fieldscreen.sync.server.storage import Principal

    storage = _storage(args)
    if args.action == "list":
        rows = [d.public() for d in storage.list_devices(Principal("admin", frozenset(), "cli"))]
        lines = [
            f"{d['id']}  {d['site']}  {d['status']}  last contact {d['last_contact'] or '-'}"
            + ("  ROLLBACK SUSPECTED" if d["rollback_suspected"] else "")
            for d in rows
        ]
        _emit(args, rows, "\n".join(lines) or "No devices enrolled.")
        return 0
    if not args.device:
        raise ServerError("server-device-unknown", device="(none given)")
    status = {"revoke": "revoked", "wipe": "wipe", "restore": "active"}[args.action]
    row = storage.set_device_status(args.device, status, "cli")
    _emit(args, row.public(), f"{row.id}: {row.status}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    token = _storage(args).create_credential(args.role, args.site or (), args.label)
    # The token alone on standard output, so `token ... > coordinator.token` is the credential
    # file the app's Batches and Report pages open; the advice goes to standard error.
    _emit(args, {"token": token, "role": args.role, "sites": args.site or []}, token)
    if not args.json:
        print(
            "(shown once: save it as the coordinator's credential file, or in a password "
            "manager; it cannot be shown again)",
            file=sys.stderr,
        )
    return 0


def cmd_partner(args: argparse.Namespace) -> int:
    storage = _storage(args)
    if args.action == "list":
        rows = storage.partners()
        lines = [
            f"{r['code']}  {r['label']}  added {r['created']}"
            + ("  REVOKED" if r["revoked"] else "")
            for r in rows
        ]
        _emit(args, rows, "\n".join(lines) or "No partners added.")
        return 0
    if not args.code:
        raise ServerError("server-partner-unknown", partner="(none given)")
    if args.action == "revoke":
        storage.revoke_partner(args.code)
        _emit(args, {"code": args.code, "revoked": True}, f"{args.code}: revoked")
        return 0
    token = storage.add_partner(args.code, args.label or args.code)
    # The token alone on standard output, as `token` does: the partner's credential file.
    _emit(args, {"code": args.code, "token": token}, token)
    if not args.json:
        print(
            "(shown once: give it to the partner for 'fieldscreen-partner fetch --token-file'; "
            "it reaches only this partner's handover packets)",
            file=sys.stderr,
        )
    return 0


def _publish(kind: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from fieldscreen.sync.signed import sign_document

        storage = _storage(args)
        keys = storage.keys()
        path = Path(args.file)
        try:
            content = path.read_bytes()
        except OSError:
            raise ServerError(
                "sync-bad-file", path=path.name, what=kind, reason="cannot be read"
            ) from None
        private = _private_key(args, args.key)
        version = args.version or dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        name = args.name or path.stem
        document = sign_document(kind, name, version, content, private, keys.signing_public)
        storage.publish(document.to_bytes(), "cli")
        _emit(
            args,
            {"kind": kind, "name": name, "version": version},
            f"Published {kind} {name} version {version}",
        )
        return 0

    return run


def cmd_import_bundle(args: argparse.Namespace) -> int:
    from fieldscreen.sync.bundle import read_bundle
    from fieldscreen.sync.canonical import parse_json
    from fieldscreen.sync.server.storage import Principal

    storage = _storage(args)
    device_id, envelopes = read_bundle(Path(args.file))
    admin = Principal("admin", frozenset(), "cli")
    counts: dict[str, int] = {}  # the screenings' and drafts' (the audit log's apart)
    audit: set[str] = set()  # record ids counted apart: audit segments, case events
    events = 0
    batch: list[Any] = []

    def flush() -> None:
        for outcome in storage.ingest(batch, admin):
            if outcome.record_id not in audit:
                counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
        batch.clear()

    for data in envelopes:
        item = parse_json(data, "envelope")
        if isinstance(item, dict) and item.get("kind") in ("audit", "event"):
            audit.add(str(item.get("record_id")))
            events += item.get("kind") == "event"
        batch.append(item)
        if len(batch) >= 200:
            flush()
    flush()
    storage.audit("cli", "import-bundle", {"device": device_id, **counts})
    text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "empty bundle"
    _emit(
        args,
        {
            "device_id": device_id,
            "outcomes": counts,
            "audit_envelopes": len(audit) - events,
            "event_envelopes": events,
        },
        f"{device_id}: {text}",
    )
    return 0


def cmd_receipt(args: argparse.Namespace) -> int:
    from fieldscreen.sync.bundle import write_atomic

    storage = _storage(args)
    if storage.device(args.device) is None:
        raise ServerError("server-device-unknown", device=args.device)
    _unlock(args, storage)
    document = storage.receipt(args.device)
    write_atomic(Path(args.out), document.to_bytes())
    from fieldscreen.sync.signed import Receipt

    receipt = Receipt.from_document(document)
    _emit(
        args,
        {"out": args.out, "delivered": len(receipt.delivered), "conflicts": len(receipt.conflicts)},
        f"Receipt for {args.device}: {len(receipt.delivered)} delivered -> {args.out}",
    )
    return 0


def cmd_passphrase(args: argparse.Namespace) -> int:
    """Set or change the server's passphrase, which protects its receipt key."""
    storage = _storage(args)
    state = storage.receipt_key_state()
    old = _server_passphrase(args, "Current server passphrase: ") if state == "protected" else None
    if args.new_passphrase_file:
        new = _read_file_passphrase(args.new_passphrase_file)
    elif not sys.stdin.isatty():
        raise ServerError("passphrase-not-given", option="--new-passphrase-file")
    else:
        new = ask_passphrase(
            "New server passphrase: ",
            again="New server passphrase again: ",
            option="--new-passphrase-file",
            differs=ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE),
            error=ServerError,
        ).encode("utf-8")
    if len(new.decode("utf-8")) < MIN_PASSPHRASE:
        raise ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE)
    if args.new_key:
        if old is not None:
            storage.unlock(old)  # only whoever holds the passphrase replaces the key
        storage.replace_receipt_key(new)
        done = "replaced"
    else:
        done = storage.change_passphrase(old, new)
    text = {
        "created": "Receipt key created, protected by the server's passphrase.",
        "protected": "The receipt key was stored in the clear; it is now protected by the "
        "server's passphrase and its clear copy removed from the database.",
        "changed": "The server's passphrase is changed.",
        "replaced": "A new receipt key replaces the old one, which is destroyed. Laptops "
        "accept its receipts once re-provisioned with a new file from provision-file.",
    }[done]
    _emit(
        args,
        {"receipt_key": done, "key_id": storage.receipt_key_id()},
        f"{text} Give the new passphrase file to every 'serve' process and restart them.",
    )
    return 0


_AUDIT_BROKEN = {
    "chain": "server-audit-chain",
    "edited": "server-audit-edited",
    "signature": "server-audit-signature",
    "head": "server-audit-head",
}


def _expect_head(value: str | None) -> tuple[int, str] | None:
    if not value:
        return None
    entry, _, digest = value.partition(":")
    digest = digest.strip().lower()
    if not entry.strip().isdigit() or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
        raise ServerError("server-audit-head-bad", value=value[:80])
    return int(entry), digest


def cmd_audit(args: argparse.Namespace) -> int:
    """Check the audit chain (``verify``), or sign its head now (``checkpoint``)."""
    storage = _storage(args)
    if args.action == "checkpoint":
        _unlock(args, storage)  # unlocking signs an unsigned head already
        head = storage.verify_audit()
        _emit(
            args,
            {"checkpoint": {"id": head.anchored_to}, "head": head.to_json()["head"]},
            f"Audit log signed up to entry {head.anchored_to}.",
        )
        return 0
    pinned: bytes | None = None
    if args.receipt_key:
        pinned = _receipt_public(args.receipt_key)
    report = storage.verify_audit(receipt_public=pinned, expect_head=_expect_head(args.expect_head))
    data = report.to_json()
    if report.broken is not None:
        entry, reason = report.broken
        error = ServerError(_AUDIT_BROKEN[reason], entry=entry, after=report.previous_id)
        data["message"] = {"en": error.message("en"), "es": error.message("es")}
        if args.json:
            _emit(args, data, "")
        else:
            print(f"fieldscreen-server: {error}", file=sys.stderr)
        return 1
    warning = None
    if report.unanchored:
        warning = KnownError(
            "server-audit-unanchored", count=report.unanchored, anchored=report.anchored_to
        )
        data["warning"] = {"en": warning.message("en"), "es": warning.message("es")}
    _emit(
        args,
        data,
        f"Audit log intact: {report.entries} entries, {report.checkpoints} signed checkpoints, "
        f"signed up to entry {report.anchored_to}. Head: {report.head_id}:{report.head_hash}"
        + (f"\n{warning}" if warning else ""),
    )
    return 1 if warning is not None and args.strict else 0


def _receipt_public(path: str) -> bytes:
    """The receipt public key a signed provisioning file names (what the laptops trust)."""
    from fieldscreen.sync.signed import Provisioning

    try:
        return Provisioning.verify_file(Path(path).read_bytes(), None).receipt_public_key
    except (OSError, KnownError):
        raise ServerError("server-key-file", path=path) from None


def cmd_stats(args: argparse.Namespace) -> int:
    """Sync health, and the coordinator report from the aggregate records (suppressed)."""
    from fieldscreen.reports.coordinator import ReportFilter, coordinator_report
    from fieldscreen.sync.server.storage import Principal

    wanted = ReportFilter(args.from_week or "", args.to_week or "", frozenset(args.site or ()))
    storage = _storage(args)
    admin = Principal("admin", frozenset(), "cli")
    stats = storage.stats(admin)
    report = coordinator_report(
        storage.iter_aggregates(admin), threshold=args.threshold, keep=wanted
    )
    total = sum(row["envelopes"] for row in stats["per_day"])
    devices = len(stats["devices"])
    _emit(
        args,
        {**stats, "report": report.to_json()},
        f"{total} envelopes, {stats['conflicts']} conflicts, {stats['quarantined']} quarantined, "
        f"{devices} {'device' if devices == 1 else 'devices'}\n\n" + report.text(),
    )
    return 0


def cmd_matches(args: argparse.Namespace) -> int:
    """The coordinators' list of possible matches between screenings (shared match tokens)."""
    from fieldscreen.sync.server.storage import Principal

    storage = _storage(args)
    if args.site:
        principal = Principal("coordinator", frozenset(args.site), "cli")
    else:
        principal = Principal("admin", frozenset(), "cli")
    answer = storage.matches(principal, actor="cli")
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
    _emit(args, answer, "\n".join(lines) or "No possible matches.")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    storage = _storage(args)
    destroyed = storage.apply_retention(args.days, "cli")
    held = storage.last_held_destroyed
    _emit(
        args,
        {"destroyed": destroyed, "held_destroyed": held},
        f"{destroyed} envelopes and {held} held copies (conflicts, quarantine) destroyed",
    )
    return 0


def _export_passphrase(args: argparse.Namespace, *, confirm: bool) -> bytes:
    if args.export_passphrase_file:
        try:
            text = Path(args.export_passphrase_file).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            raise ServerError(
                "passphrase-file-unreadable", path=args.export_passphrase_file
            ) from None
    else:
        text = ask_passphrase(
            "Export passphrase: ",
            again="Export passphrase again: " if confirm else None,
            option="--export-passphrase-file",
            differs=ServerError("export-passphrase-weak", minimum=MIN_PASSPHRASE),
            error=ServerError,
        )
    if confirm and len(text) < MIN_PASSPHRASE:
        raise ServerError("export-passphrase-weak", minimum=MIN_PASSPHRASE)
    return text.encode("utf-8")


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
    storage = _storage(args)
    private = _private_key(args, args.key)
    export_passphrase = _export_passphrase(args, confirm=True) if profile.identifiable else b""
    forms = FormCatalogue()
    forms.add_builtin()
    forms.add_documents(storage.published_forms())
    for folder in args.forms or ():
        forms.add_folder(Path(folder))
    keys: dict[str, bytes | None] = {}

    def device_key(device_id: str) -> bytes | None:
        if device_id not in keys:
            row = storage.device(device_id)
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
                storage.iter_envelopes(),
                device_key,
                private,
                forms,
                problems,
                contested=storage.iter_contested(),
            )
        )
    )

    def site_of(device_id: str) -> str | None:
        row = storage.device(device_id)
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
    storage.audit(
        "cli",
        "export",
        {k: summary[k] for k in ("profile", "format", "exported", "held_back_by_consent")}
        | {"not_exported": problems.total, "contested": len(problems.contested)}
        | {"case_events_held": len(events_held)},
    )
    for row in events_held:  # forged or replayed for someone else's case: named in the audit
        storage.audit("cli", "case-event-held", {"event": row[0], "device": row[2], "why": row[5]})
    _emit(
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
    files = unpack(data, _export_passphrase(args, confirm=False))
    written = write_files(Path(args.out), files)
    _emit(
        args,
        {"out": args.out, "files": sorted(str(p.relative_to(Path(args.out))) for p in written)},
        f"{len(written)} files written to {args.out} (IDENTIFIABLE: delete when done)",
    )
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", metavar="URL", help="database: a SQLite path (default) or postgresql://user@host/db"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    passphrase = argparse.ArgumentParser(add_help=False)
    passphrase.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the passphrase from FILE instead of a prompt",
    )

    parser = argparse.ArgumentParser(
        prog="fieldscreen-server", description="The FieldScreen central server."
    )
    parser.add_argument("--version", action="version", version=f"fieldscreen-server {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str,
        run: Callable[[argparse.Namespace], int],
        help: str,
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common, *parents])
        p.set_defaults(_run=run)
        return p

    server_pass = argparse.ArgumentParser(add_help=False)
    server_pass.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help=f"the server's passphrase, which unlocks its receipt key (or ${PASSPHRASE_ENV})",
    )
    p = add("serve", cmd_serve, "run the server", server_pass)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8470)
    p.add_argument("--max-body", type=int, default=8 * 1024 * 1024, help="bytes per request")
    p.add_argument("--rate", type=float, default=50.0, help="requests per second per caller")
    p.add_argument("--burst", type=int, default=200, help="requests a caller may make at once")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (they share the database's rate limits and request nonces)",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="reverse proxies whose X-Forwarded-* headers are trusted",
    )
    p = add("init-org", cmd_init_org, "create the organisation's key pairs", passphrase)
    p.add_argument("--out", required=True, metavar="DIR", help="an empty folder for the keys")
    p.add_argument("--name", default="Organisation", help="the organisation's name")
    p = add(
        "match-secret",
        cmd_match_secret,
        "write a new organisation match secret (for the children's match tokens)",
        passphrase,
    )
    p.add_argument("--out", required=True, metavar="FILE", help="a new file for the secret")
    p = add("provision-file", cmd_provision_file, "write the signed provisioning file", passphrase)
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--key", required=True, metavar="FILE", help="signing-private.json")
    p.add_argument(
        "--match-secret",
        metavar="FILE",
        help="the match secret (from match-secret) for the installer's file; never for a file "
        "published through the server",
    )
    p.add_argument("--server-url", required=True)
    p.add_argument(
        "--site",
        action="append",
        metavar="ID[:NAME:CC]",
        help="a site: its id, name and ISO country code, e.g. tij1:Tijuana 1:MX (repeat)",
    )
    p.add_argument("--lang", choices=("en", "es"), default="en")
    p.add_argument("--auto-lock-minutes", type=int, help="lock this policy on every device")
    p.add_argument(
        "--interview-lock-minutes",
        type=int,
        help="idle minutes before the lock while a screening is open (an interview in "
        "progress); lock this policy on every device",
    )
    p.add_argument("--follow-up-window-days", type=int, help="lock this policy on every device")
    p.add_argument("--clipboard-clear-seconds", type=int, help="lock this policy on every device")
    p.add_argument("--travel-mode-allowed", choices=("yes", "no"), help="lock this policy")
    p.add_argument("--background-sync", choices=("yes", "no"), help="lock this policy")
    p.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="let devices use plain http (test networks only)",
    )
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
    for kind, name in (("form", "publish-form"), ("directory", "publish-directory")):
        p = add(name, _publish(kind), f"sign and publish a {kind}", passphrase)
        p.add_argument("file", metavar="FILE")
        p.add_argument("--key", required=True, metavar="FILE", help="signing-private.json")
        p.add_argument("--name", help="name (default: the file name)")
        p.add_argument("--version", help="version (default: the time)")
    p = add("import-bundle", cmd_import_bundle, "import a device's bundle file")
    p.add_argument("file", metavar="FILE")
    p = add("receipt", cmd_receipt, "write a signed receipt for a device", server_pass)
    p.add_argument("--device", required=True)
    p.add_argument("--out", required=True, metavar="FILE")
    p = add(
        "passphrase",
        cmd_passphrase,
        "set or change the server's passphrase (it protects the receipt key)",
        server_pass,
    )
    p.add_argument(
        "--new-passphrase-file", metavar="FILE", help="read the new passphrase from FILE"
    )
    p.add_argument(
        "--new-key",
        action="store_true",
        help="also replace the receipt key (after a suspected compromise; re-provision laptops)",
    )
    p = add(
        "audit",
        cmd_audit,
        "verify the audit log's hash chain and signed checkpoints, or sign its head now",
        server_pass,
    )
    p.add_argument("action", choices=("verify", "checkpoint"))
    p.add_argument(
        "--expect-head",
        metavar="ID:HASH",
        help="a head printed by an earlier verify, kept elsewhere: it must still be there",
    )
    p.add_argument(
        "--receipt-key",
        metavar="FILE",
        help="trust the receipt key this provisioning file names, not the database's own",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="also exit 1 when the newest entries are not yet covered by a signed checkpoint",
    )
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
    export_pass = argparse.ArgumentParser(add_help=False)
    export_pass.add_argument(
        "--export-passphrase-file",
        metavar="FILE",
        help="read the export passphrase (identifiable exports) from FILE instead of a prompt",
    )
    p = add(
        "export",
        cmd_export,
        "decrypt for the central team (off the server)",
        passphrase,
        export_pass,
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
    p = add("export-open", cmd_export_open, "unpack an identifiable export", export_pass)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--out", required=True, metavar="DIR")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run_guarded(
            lambda: int(args._run(args)),
            program="fieldscreen-server",
            lang="en",
            debug=args.debug,
            advice="Run again with --debug.",
        )
    finally:
        while _OPENED:
            _OPENED.pop().close()


if __name__ == "__main__":
    sys.exit(main())
