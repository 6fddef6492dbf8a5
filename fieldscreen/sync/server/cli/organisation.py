"""The organisation's keys and the files that carry them to laptops: ``init-org`` (its key
pairs), ``match-secret`` (the children's match tokens) and ``provision-file`` (the signed
provisioning file, with the policies it locks on every device)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.cli.common import AddCommand, Parents, emit, open_storage
from fieldscreen.sync.server.cli.passphrases import private_key, read_passphrase

__all__ = ["add_commands"]

KEY_FILES = {"sealing": "sealing-private.json", "signing": "signing-private.json"}
PUBLIC_FILE = "organisation-public.json"


def cmd_init_org(args: argparse.Namespace) -> int:
    from fieldscreen import crypto
    from fieldscreen.sync.canonical import b64e
    from fieldscreen.sync.envelope import key_id_hex

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise ServerError("server-out-exists", path=str(out))
    passphrase = read_passphrase(args, confirm=True)
    storage = open_storage(args)
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
    storage.repos.keys.set_org_keys(args.name, sealing_public, signing_public)
    emit(
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
    passphrase = read_passphrase(args, confirm=True)
    blob = crypto.protect_private_key(crypto.random_bytes(MATCH_SECRET_BYTES), passphrase)
    old = os.umask(0o077)
    try:
        out.write_text(json.dumps(blob), encoding="utf-8")
    finally:
        os.umask(old)
    emit(
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
    storage = open_storage(args)
    keys = storage.repos.keys.keys()
    check_url(args.server_url, allow_insecure=args.allow_insecure_http)
    private = private_key(args, args.key)
    match_secret = private_key(args, args.match_secret) if args.match_secret else None
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
    emit(args, {"out": args.out, "version": version}, f"Provisioning file written to {args.out}")
    return 0


def add_commands(add: AddCommand, parents: Parents) -> None:
    p = add("init-org", cmd_init_org, "create the organisation's key pairs", parents.passphrase)
    p.add_argument("--out", required=True, metavar="DIR", help="an empty folder for the keys")
    p.add_argument("--name", default="Organisation", help="the organisation's name")
    p = add(
        "match-secret",
        cmd_match_secret,
        "write a new organisation match secret (for the children's match tokens)",
        parents.passphrase,
    )
    p.add_argument("--out", required=True, metavar="FILE", help="a new file for the secret")
    p = add(
        "provision-file",
        cmd_provision_file,
        "write the signed provisioning file",
        parents.passphrase,
    )
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
