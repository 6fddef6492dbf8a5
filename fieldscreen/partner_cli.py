"""``fieldscreen-partner``: the partner organisation's own small command (docs/handover.md).

``fieldscreen-partner keygen --out KEYFILE`` makes the partner's keys (X25519 to receive
packets, Ed25519 to sign acknowledgements) and prints the public halves for the organisation's
service directory; the private key file is encrypted under a passphrase (Argon2id, as the
vault's keys), and with ``--org-key organisation-public.json`` holds the organisation's public
signing key, which every packet is checked against (the packet's device must be listed with
its key in the service directory that key signed). ``fieldscreen-partner open PACKET --key
KEYFILE [--out DIR]`` verifies the packet's signature and its device, decrypts it, and
writes ``summary.txt``, ``summary.json`` and the signed acknowledgement ``ack-<packet>.json``
to send back. ``fieldscreen-partner fetch --server URL --token-file F --key KEYFILE [--out
DIR]`` does the same for each packet the server holds for this partner and not yet
acknowledged (one folder per packet, ``DIR/<packet>/``), and posts each acknowledgement back
to the server. Errors in English or Spanish (``--lang``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fieldscreen import crypto
from fieldscreen.errors import DeviceError, KnownError
from fieldscreen.handover import KnownDirectories, make_ack, open_packet, summary_text
from fieldscreen.sync.canonical import b64d, b64e, canonical, parse_json

__all__ = ["main"]

KEY_FORMAT = "fieldscreen-partner-key"
_PACKET_ID = re.compile(r"[0-9a-f]{32}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldscreen-partner",
        description="Open a FieldScreen handover packet sealed to your organisation, and "
        "acknowledge it.",
    )
    parser.add_argument("--lang", choices=("en", "es"), default="en")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    keygen = sub.add_parser("keygen", help="make this partner's keys")
    keygen.add_argument("--partner", required=True, help="your partner id in the directory")
    keygen.add_argument("--out", required=True, metavar="KEYFILE", help="private key file")
    opener = sub.add_parser("open", help="verify, decrypt and acknowledge a packet")
    opener.add_argument("packet", metavar="PACKET")
    opener.add_argument("--key", required=True, metavar="KEYFILE")
    opener.add_argument("--out", metavar="DIR", default=".")
    fetch = sub.add_parser(
        "fetch", help="fetch this partner's packets from the server, open and acknowledge them"
    )
    fetch.add_argument("--server", required=True, metavar="URL", help="the server's address")
    fetch.add_argument(
        "--token-file",
        required=True,
        metavar="F",
        help="the partner token 'fieldscreen-server partner add' printed, on the first line",
    )
    fetch.add_argument("--key", required=True, metavar="KEYFILE")
    fetch.add_argument("--out", metavar="DIR", default=".")
    for command in (keygen, opener, fetch):
        command.add_argument(
            "--org-key",
            metavar="FILE",
            help="the organisation's public key file (organisation-public.json, from its "
            "central team); keygen keeps it in the key file, open and fetch need it only for a "
            "key file made without it",
        )
        command.add_argument(
            "--passphrase-file",
            metavar="F",
            help="the key file's passphrase on the first line (default: asked for)",
        )
    return parser


def kdf_params() -> crypto.KdfParams:
    """The cost of the key file's passphrase (the vault's default Argon2id cost)."""
    return crypto.KdfParams.default()


def _passphrase(args: argparse.Namespace, *, twice: bool) -> bytes:
    if args.passphrase_file:
        try:
            text = Path(args.passphrase_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            raise DeviceError("handover-file", name=str(args.passphrase_file)[:200]) from None
        first = text[0] if text else ""
    elif sys.stdin.isatty():
        first = getpass.getpass("Passphrase / Frase de acceso: ")
        if twice and getpass.getpass("Again / Otra vez: ") != first:
            raise DeviceError("handover-passphrase-needed")
    else:
        raise DeviceError("handover-passphrase-needed")
    if len(first) < 8:
        raise DeviceError("handover-passphrase-needed")
    return first.encode("utf-8")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _org_key(path: str) -> bytes:
    """The organisation's Ed25519 public key from its public key file (``fieldscreen-server
    init-org`` writes it as ``organisation-public.json``)."""
    try:
        data = parse_json(Path(path).read_bytes(), "organisation key")
        key = b64d(str(data["signing_public_key"]), "signing key")
    except (OSError, KeyError, TypeError, KnownError):
        raise DeviceError("handover-org-key-bad", name=path[:200]) from None
    if len(key) != 32:
        raise DeviceError("handover-org-key-bad", name=path[:200])
    return key


def _keygen(args: argparse.Namespace) -> dict[str, Any]:
    org = _org_key(args.org_key) if args.org_key else b""
    sealing_private, sealing_public = crypto.generate_sealing_keypair()
    signing_private, signing_public = crypto.generate_signing_keypair()
    body = {
        "format": KEY_FORMAT,
        "partner": args.partner,
        # The organisation's public key sits under the passphrase with the private keys, so
        # that whoever may write the file cannot swap in a key of their own unnoticed.
        "private": crypto.protect_private_key(
            sealing_private + signing_private + org,
            _passphrase(args, twice=True),
            params=kdf_params(),
        ),
    }
    try:
        _write_private(Path(args.out), canonical(body))
    except OSError:
        raise DeviceError("handover-file", name=str(args.out)[:200]) from None
    return {
        "id": args.partner,
        "keys": {"x25519": b64e(sealing_public), "ed25519": b64e(signing_public)},
    }


def _key(path: str, args: argparse.Namespace) -> tuple[str, bytes, bytes, bytes]:
    """The key file's partner id, its two private keys and the organisation's public key
    (the file's own, else ``--org-key``'s; both given must be the same key)."""
    partner, sealing, signing, kept = _key_file(path, args)
    given = _org_key(args.org_key) if args.org_key else b""
    if kept and given and kept != given:
        raise DeviceError("handover-org-key-bad", name=str(args.org_key)[:200])
    if not (kept or given):
        raise DeviceError("handover-org-key-needed")
    return partner, sealing, signing, kept or given


def _key_file(path: str, args: argparse.Namespace) -> tuple[str, bytes, bytes, bytes]:
    try:
        data = parse_json(Path(path).read_bytes(), "key file")
        if not isinstance(data, dict) or data.get("format") != KEY_FORMAT:
            raise DeviceError("handover-key-file-bad", name=path[:200])
        partner, blob = str(data["partner"]), data["private"]
        if not isinstance(blob, dict):
            raise DeviceError("handover-key-file-bad", name=path[:200])
    except (OSError, KeyError, KnownError):
        raise DeviceError("handover-key-file-bad", name=path[:200]) from None
    try:
        private = crypto.unprotect_private_key(blob, _passphrase(args, twice=False))
    except crypto.DecryptError:
        raise DeviceError("handover-key-passphrase", name=path[:200]) from None
    if len(private) not in {64, 96}:  # 64: made before keygen kept the organisation's key
        raise DeviceError("handover-key-file-bad", name=path[:200])
    return partner, private[:32], private[32:64], private[64:]


def _known_path(key_file: str) -> Path:
    """Beside the key file: the newest directory of each site this partner checked a packet
    against (signed documents; nothing secret)."""
    path = Path(key_file)
    return path.with_name(path.name + ".directories")


def _load_known(key_file: str, org: bytes) -> KnownDirectories:
    """The directories kept beside the key file, each checked again against the
    organisation's key (one that fails is left out, as if never seen)."""
    from fieldscreen.directory import ServiceDirectory
    from fieldscreen.sync.signed import verify_document

    try:
        data = parse_json(_known_path(key_file).read_bytes(), "directories")
    except (OSError, KnownError):
        return {}
    known: KnownDirectories = {}
    for signed_b64 in data.values() if isinstance(data, dict) else ():
        try:
            signed = b64d(str(signed_b64), "directory")
            document = verify_document(signed, org, kind="directory")
            directory = ServiceDirectory.from_content(document.content, "kept", "directories")
        except KnownError:
            continue
        known[directory.site_id] = (directory, signed)
    return known


def _save_known(key_file: str, known: KnownDirectories) -> None:
    from fieldscreen.paths import atomic_write_bytes

    body = canonical({site: b64e(signed) for site, (_, signed) in sorted(known.items())})
    try:
        atomic_write_bytes(_known_path(key_file), body)
    except OSError:
        raise DeviceError("handover-file", name=str(_known_path(key_file))[:200]) from None


def _open(args: argparse.Namespace) -> dict[str, Any]:
    partner, sealing_private, signing_private, org = _key(args.key, args)
    try:
        data = Path(args.packet).read_bytes()
    except OSError:
        raise DeviceError("handover-file", name=str(args.packet)[:200]) from None
    known = _load_known(args.key, org)
    content, digest = open_packet(
        data, Path(args.packet).name, partner, sealing_private, org, known=known
    )
    _save_known(args.key, known)
    out = Path(args.out)
    ack_path = _write_opened(out, content, make_ack(content, digest, partner, signing_private))
    return {
        "packet_id": content["packet_id"],
        "case": content["case_id"],
        "summary": str(out / "summary.txt"),
        "ack": str(ack_path),
    }


def _write_opened(out: Path, content: dict[str, Any], ack: bytes) -> Path:
    ack_path = out / f"ack-{content['packet_id']}.json"
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(
            json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8"
        )
        (out / "summary.txt").write_text(summary_text(content), encoding="utf-8")
        ack_path.write_bytes(ack)
    except OSError:
        raise DeviceError("handover-file", name=str(out)[:200]) from None
    return ack_path


def _fetch(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from fieldscreen.sync.client import check_url

    try:
        lines = Path(args.token_file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        raise DeviceError("handover-file", name=str(args.token_file)[:200]) from None
    token = lines[0].strip() if lines else ""
    partner, sealing_private, signing_private, org = _key(args.key, args)
    base = check_url(args.server) + "/api/v1"
    headers = {"authorization": f"Bearer {token}"}
    out, opened, acknowledged = Path(args.out), [], 0
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            listing = http.get("/partner/packets")
            if listing.status_code != 200:
                raise DeviceError("handover-server", status=str(listing.status_code))
            data = listing.json()
            items = data.get("packets") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise DeviceError("handover-server", status="not a listing")
            for item in items:
                packet_id = str(item.get("packet_id", "")) if isinstance(item, dict) else ""
                if not _PACKET_ID.fullmatch(packet_id) or item.get("acknowledged"):
                    continue
                data = _read_packet(http, packet_id)
                known = _load_known(args.key, org)
                content, digest = open_packet(
                    data, packet_id, partner, sealing_private, org, known=known
                )
                _save_known(args.key, known)
                if content["packet_id"] != packet_id:  # another (older) packet under this id
                    raise DeviceError("handover-packet-tampered", name=packet_id)
                ack = make_ack(content, digest, partner, signing_private)
                _write_opened(out / packet_id, content, ack)
                posted = http.post(
                    f"/partner/packets/{packet_id}/ack",
                    content=ack,
                    headers={"content-type": "application/json"},
                )
                if posted.status_code != 200:
                    raise DeviceError("handover-server", status=str(posted.status_code))
                acknowledged += 1
                opened.append(
                    {
                        "packet_id": packet_id,
                        "case": content["case_id"],
                        "folder": str(out / packet_id),
                    }
                )
    except httpx.HTTPError:
        raise DeviceError("handover-server", status="unreachable") from None
    except ValueError:  # not JSON: not the listing a server answers with
        raise DeviceError("handover-server", status="not a listing") from None
    return {"partner": partner, "opened": opened, "acknowledged": acknowledged}


#: The most a packet's answer may hold: what the server keeps (6 MiB); a server answering
#: with more is refused before it is all read.
_MAX_ANSWER = 6 * 1024 * 1024


def _read_packet(http: Any, packet_id: str) -> bytes:
    with http.stream("GET", f"/partner/packets/{packet_id}") as got:
        if got.status_code != 200:
            raise DeviceError("handover-server", status=str(got.status_code))
        data = bytearray()
        for chunk in got.iter_bytes():
            data += chunk
            if len(data) > _MAX_ANSWER:
                raise DeviceError("handover-server", status="a packet over 6 MiB")
    return bytes(data)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"keygen": _keygen, "open": _open, "fetch": _fetch}
    try:
        result = commands[args.command](args)
    except KnownError as exc:
        print(f"fieldscreen-partner: {exc.message(args.lang)}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
