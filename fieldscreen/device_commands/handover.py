"""``fieldscreen handover CASE --to PARTNER --out FILE`` and ``fieldscreen handover ack FILE``:
hand a child's case to a partner organisation of the signed service directory, as a packet
sealed to the partner's key and signed by this device (docs/handover.md), and apply the
partner's signed acknowledgement. Both are case events of the case (``handover-sent``,
``handover-acknowledged``), sealed for the team and audited."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from fieldscreen.caseevents import HANDOVER_ACKNOWLEDGED, HANDOVER_SENT
from fieldscreen.device import (
    decide_held_handover,
    held_handovers,
    is_enrolled,
    queue_handover,
    site_directory,
    unqueue_handover,
)
from fieldscreen.device_commands import unlocked_vault
from fieldscreen.device_commands.case import resolve_case
from fieldscreen.directory import ServiceDirectory
from fieldscreen.errors import DeviceError
from fieldscreen.handover import packet_content, seal_packet, summary_html, verify_ack
from fieldscreen.settings import Settings
from fieldscreen.vault import Vault
from fieldscreen.vault.cli_common import add_unlock_arguments, emit
from fieldscreen.vault.errors import VaultError

__all__ = ["add_arguments", "apply_ack", "hand_over", "run"]

_RELEASERS = ("coordinator", "admin")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Hand a child's case to a partner organisation: a packet sealed to the partner's key "
        "with only what the child consented to share with it (fieldscreen handover CASE --to "
        "PARTNER --out FILE), or apply the partner's acknowledgement (fieldscreen handover ack "
        "FILE)."
    )
    parser.add_argument(
        "case",
        metavar="CASE|ack|held",
        help="the screening's record id or its code; 'ack' applies an acknowledgement file; "
        "'held' lists the packets held because their partner left the directory",
    )
    parser.add_argument("file", metavar="ACKFILE", nargs="?", help="with ack: the file")
    parser.add_argument("--to", metavar="PARTNER", help="the partner's id in the directory")
    parser.add_argument("--out", metavar="FILE", help="where to write the packet")
    parser.add_argument(
        "--send",
        action="store_true",
        help="send the packet through the server: queued, and sent at every sync until the "
        "server holds it (the partner's acknowledgement comes back the same way)",
    )
    parser.add_argument(
        "--release",
        metavar="REASON",
        default="",
        help="a coordinator's reason to share without the child's consent (audited)",
    )
    decide = parser.add_mutually_exclusive_group()
    decide.add_argument(
        "--resend", metavar="PACKET", help="with held: put the held packet back on the queue"
    )
    decide.add_argument(
        "--discard", metavar="PACKET", help="with held: destroy the held packet (audited)"
    )
    add_unlock_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        raise DeviceError("handover-file", name=path[:200]) from None


def hand_over(
    vault: Vault,
    directory: ServiceDirectory | None,
    record_id: str,
    partner_id: str,
    out: Path | None,
    *,
    site: str,
    release_reason: str = "",
    summary: bool = False,
    send: bool = False,
) -> dict[str, Any]:
    """Hand the case ``record_id`` over to ``partner_id`` of ``directory``: the packet (only
    what the child consented to share with it, :func:`fieldscreen.handover.packet_content`)
    sealed to its key and signed by this device, written to ``out``; a coordinator's release
    audited (``override``); the card's ``handovers`` and the case event ``handover-sent`` in
    one transaction. The vault is unlocked with the device's signature wired. Returns what
    ``fieldscreen handover --json`` prints; with ``summary``, also ``summary_html``: the same
    packet's summary in English and Spanish (:func:`fieldscreen.handover.summary_html`), for
    the PDF of a partner without the software. With ``send``, the packet is also queued to go
    through the server at the next sync (:func:`fieldscreen.device.queue_handover`); ``out``
    may then be None.

    Raises:
        DeviceError: ``handover-partner-unknown``, ``handover-device-not-listed`` (the signed
            directory does not list this laptop with its key: the partner would refuse the
            packet), ``handover-release-role``, ``handover-file`` and those of
            :func:`fieldscreen.handover.packet_content`.
    """
    partner = directory.partner(partner_id) if directory else None
    if directory is None or partner is None:
        raise DeviceError("handover-partner-unknown", partner=partner_id[:64])
    if not directory.signed or directory.device_key(vault.device_id) != vault.device_public_key:
        # The partner takes a packet only from a device the organisation's signed directory
        # lists with its key: one it would refuse is not made.
        raise DeviceError("handover-device-not-listed", device=vault.device_id[:64])
    user = vault.current_user
    if release_reason.strip() and (user is None or user.role not in _RELEASERS):
        raise DeviceError("handover-release-role")
    card = vault.case_card(record_id)
    record, now = vault.load_record(record_id), dt.datetime.now(dt.UTC)
    content = packet_content(
        record, card, partner, record_id, site=site, release_reason=release_reason, when=now
    )
    # The card's concerns the child's consent to this recipient does not cover: the
    # specialist is told how many stay out (the partner is not).
    kept_out = len(
        set(map(str, card.get("concerns") or ())) - set(content["summary"].get("concerns", ()))
    )
    packet = seal_packet(
        content,
        partner,
        vault.device_id,
        vault.device_public_key,
        vault.sign_as_device,
        directory.signed,
    )
    if out is not None:
        try:
            out.write_bytes(packet)
        except OSError:
            raise DeviceError("handover-file", name=str(out)[:200]) from None
    if content["basis"] == "supervisor-release":
        vault.record_event(
            "override", record_id, {"what": "handover", "recipient": partner.recipient}
        )
    card = vault.case_card(record_id)
    card["handovers"] = [
        *card.get("handovers", ()),
        {
            "packet_id": content["packet_id"],
            "partner": partner.id,
            "sent": content["created"],
            "basis": content["basis"],
            "digest": hashlib.sha256(packet).hexdigest(),
            "acknowledged": "",
            **({"via": "server"} if send else {}),
        },
    ]
    if send:  # durable before the case event says it was sent
        queue_handover(vault, partner.id, content["packet_id"], packet)
    event = vault.record_case_event(
        record_id,
        HANDOVER_SENT,
        dt.datetime.now(dt.UTC),
        note=f"{partner.id} {content['packet_id']}",
        case_card=card,
    )
    done: dict[str, Any] = {
        "case": record_id,
        "partner": partner.id,
        "packet_id": content["packet_id"],
        "basis": content["basis"],
        "out": "" if out is None else str(out),
        "queued": send,
        "event_id": event["event_id"],
        "concerns_kept_out": kept_out,
    }
    if summary:  # the partner's language first, then the other
        other = "en" if partner.language == "es" else "es"
        translated = packet_content(
            record,
            card,
            dataclasses.replace(partner, language=other),
            record_id,
            site=site,
            release_reason=release_reason,
            when=now,
            packet_id=content["packet_id"],
        )
        done["summary_html"] = summary_html([content, translated])
    return done


def run(args: argparse.Namespace) -> int:
    with unlocked_vault(args) as (vault, settings):
        lang = str(getattr(args, "lang", None) or settings.get("language") or "en")
        directory = site_directory(vault, settings)
        if args.case == "ack":
            return _ack(args, vault, settings, directory, lang)
        if args.case == "held":
            return _held(args, vault, lang)
        if args.resend or args.discard:
            raise DeviceError("handover-usage")
        if not args.to or not (args.out or args.send) or args.file:
            raise DeviceError("handover-usage")
        if args.send and not is_enrolled(vault):  # it would wait for a sync that never runs
            raise DeviceError("handover-not-enrolled")
        done = hand_over(
            vault,
            directory,
            resolve_case(vault, args.case),
            args.to,
            Path(args.out) if args.out else None,
            site=str(settings.get("site_id") or ""),
            release_reason=args.release,
            send=args.send,
        )
        record_id, partner_id, out, kept_out = (
            done["case"],
            done["partner"],
            done["out"],
            done["concerns_kept_out"],
        )
        emit(
            args,
            done,
            f"{record_id[:6].upper()}: "
            + (
                f"paquete de traspaso para {partner_id} "
                + (f"en {out}" if out else "")
                + (" y " if out and args.send else "")
                + ("en cola para el servidor (se envía al sincronizar)" if args.send else "")
                + ", sellado para su clave."
                + (
                    f" {kept_out} preocupación(es) no van: el consentimiento para este "
                    "destinatario no las cubre."
                    if kept_out
                    else ""
                )
                if lang == "es"
                else f"handover packet for {partner_id} "
                + (f"in {out}" if out else "")
                + (" and " if out and args.send else "")
                + ("queued for the server (sent at the next sync)" if args.send else "")
                + ", sealed to its key."
                + (
                    f" {kept_out} concern(s) left out: the consent to this recipient does "
                    "not cover them."
                    if kept_out
                    else ""
                )
            ),
        )
        return 0


def apply_ack(
    vault: Vault, directory: ServiceDirectory | None, data: bytes, name: str
) -> dict[str, Any]:
    """Apply the partner's acknowledgement ``data`` (a file, or what the sync got from the
    server): checked against the partner's key in ``directory`` and matched to a packet made
    on this laptop (id, partner, SHA-256); recorded once as the case event
    ``handover-acknowledged`` and on the card. Again, it changes nothing (``already``).

    Raises:
        DeviceError: ``handover-ack-forged``, ``handover-partner-unknown``,
            ``handover-ack-unknown``.
    """
    ack = verify_ack(data, name, directory)
    record_id = str(ack["case_id"])
    try:
        card = vault.case_card(record_id)
    except VaultError:  # an unknown case: the acknowledgement is not ours
        raise DeviceError("handover-ack-unknown", name=name[:200]) from None
    handovers = [dict(h) for h in card.get("handovers", ())]
    mine = next(
        (
            h
            for h in handovers
            if h.get("packet_id") == ack["packet_id"]
            and h.get("partner") == ack["partner"]
            and h.get("digest") == ack["digest"]
        ),
        None,
    )
    if mine is None:
        raise DeviceError("handover-ack-unknown", name=name[:200])
    already = bool(mine.get("acknowledged"))
    unqueue_handover(vault, str(ack["packet_id"]))  # it reached the partner: carried no more
    if not already:
        mine["acknowledged"] = ack["received"]
        card["handovers"] = handovers
        vault.record_case_event(
            record_id,
            HANDOVER_ACKNOWLEDGED,
            dt.datetime.now(dt.UTC),
            note=f"{ack['partner']} {ack['packet_id']}",
            case_card=card,
        )
    return {
        "case": record_id,
        "partner": ack["partner"],
        "packet_id": ack["packet_id"],
        "received": ack["received"],
        "already": already,
    }


def _held(args: argparse.Namespace, vault: Vault, lang: str) -> int:
    """``fieldscreen handover held``: the packets the sync stopped sending because their
    partner left the site's signed directory, or a person's decision on one."""
    es = lang == "es"
    packet = args.resend or args.discard
    if packet:
        partner = decide_held_handover(vault, packet, resend=bool(args.resend))[0]
        done = {"packet_id": packet, "partner": partner, "resent": bool(args.resend)}
        if args.resend:
            text = (
                f"{packet}: de nuevo en cola para {partner} (se envía al sincronizar)."
                if es
                else f"{packet}: queued again for {partner} (sent at the next sync)."
            )
        else:
            text = f"{packet}: descartado." if es else f"{packet}: discarded."
        emit(args, done, text)
        return 0
    rows = [
        {"packet_id": packet_id, "partner": entry[0], "held_since": entry[2]}
        for packet_id, entry in sorted(held_handovers(vault).items())
    ]
    lines = [f"{r['packet_id']}  {r['partner']}  {r['held_since']}" for r in rows]
    empty = "Ningún paquete retenido." if es else "No packet is held."
    emit(args, {"held": rows}, "\n".join(lines) or empty)
    return 0


def _acks(
    args: argparse.Namespace, vault: Vault, settings: Settings, lines: list[bytes], lang: str
) -> int:
    """Several acknowledgements (``fieldscreen-server receipt --acks``): each checked and
    applied as one is; those refused counted (and audited once), the others applied."""
    from fieldscreen.device import VaultDeviceStore

    applied, refused = VaultDeviceStore(vault, settings).apply_handover_acks(lines)
    emit(
        args,
        {"applied": applied, "refused": refused, "already": len(lines) - applied - refused},
        f"{applied} acuse(s) de recibo aplicados, {refused} rechazados."
        if lang == "es"
        else f"{applied} acknowledgement(s) applied, {refused} refused.",
    )
    return 0


def _ack(
    args: argparse.Namespace,
    vault: Vault,
    settings: Settings,
    directory: ServiceDirectory | None,
    lang: str,
) -> int:
    if not args.file:
        raise DeviceError("handover-usage")
    lines = [line for line in _read(args.file).splitlines() if line.strip()]
    if len(lines) > 1:  # the server's file for a laptop that syncs by USB: one per line
        return _acks(args, vault, settings, lines, lang)
    done = apply_ack(vault, directory, b"".join(lines), args.file)
    record_id, partner, received = done["case"], done["partner"], done["received"]
    emit(
        args,
        done,
        f"{record_id[:6].upper()}: "
        + (
            f"{partner} confirmó el traspaso ({received})."
            if lang == "es"
            else f"{partner} acknowledged the handover ({received})."
        ),
    )
    return 0
