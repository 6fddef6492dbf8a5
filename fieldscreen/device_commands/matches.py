"""``fieldscreen matches [--link RECORD EARLIER]``: the earlier screenings of this laptop's
children who agreed that the specialist be told (the consent form's
``check_earlier_screening``), and linking a case to one of them.

The server says, for each of this laptop's screenings whose child agreed, which earlier
screenings share one of the child's match tokens: their site, ISO week and tier, nothing more
(``GET /api/v1/device/matches``; docs/privacy-matching.md). ``--link`` records the link on the
case card (``linked_screenings``: the earlier record id, site, week, tier, when and by whom)
and, in the same transaction, as a sealed case event of type ``linked`` for the team (its note
names the earlier screening; audited as ``case-event``); only a match the server named can be
linked.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from fieldscreen.caseevents import LINKED
from fieldscreen.device import VaultDeviceStore
from fieldscreen.device_commands import unlocked_vault
from fieldscreen.errors import DeviceError
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.commands import emit, language
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.vault.cli_common import add_unlock_arguments

__all__ = ["add_arguments", "run"]

_TEXT = {
    "en": (
        "case {code}: a previous screening exists at site {site}, week {week}, tier {tier}{linked}",
        " (linked)",
        "No earlier screening found for the children who agreed to be told.",
        "Case {code} linked to the screening {earlier} (site {site}, week {week}).",
    ),
    "es": (
        "caso {code}: hay un tamizaje anterior en el sitio {site}, semana {week}, nivel "
        "{tier}{linked}",
        " (vinculada)",
        "No hay tamizajes anteriores de los niños, niñas y jóvenes que aceptaron saberlo.",
        "Caso {code} vinculado al tamizaje {earlier} (sitio {site}, semana {week}).",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--link",
        nargs=2,
        metavar=("RECORD", "EARLIER"),
        help="link the case RECORD (its record id) to the earlier screening EARLIER it matched",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_unlock_arguments(parser)


def run(args: argparse.Namespace) -> int:
    lang = language(args)
    lines = _TEXT["es" if lang == "es" else "en"]
    with unlocked_vault(args) as (vault, settings):
        stores = VaultDeviceStore(vault, settings)
        provisioning, identity = stores.provisioning(), stores.identity()
        if provisioning is None:
            raise SyncError("sync-not-provisioned")
        if identity is None:
            raise SyncError("sync-not-enrolled")
        with SyncClient(
            provisioning.server_url,
            token=identity.token,
            allow_insecure=provisioning.allow_insecure_http,
            signer=DeviceSigner.for_stores(stores, identity.device_id),
        ) as client:
            found: list[dict[str, Any]] = list(client.matches()["matches"])
        own = {r.record_id for r in vault.list_records()}
        found = [m for m in found if m["record_id"] in own]
        if args.link:
            record_id, earlier_id = args.link
            match = next(
                (
                    e
                    for m in found
                    if m["record_id"] == record_id
                    for e in m["earlier"]
                    if e["record_id"] == earlier_id
                ),
                None,
            )
            if match is None:
                raise DeviceError("device-match-unknown")
            now = datetime.now(UTC)
            card = dict(vault.case_card(record_id))
            links = [x for x in card.get("linked_screenings", []) if x["record_id"] != earlier_id]
            user = vault.current_user
            links.append(
                {
                    **match,
                    "linked": now.isoformat(timespec="minutes"),
                    "by": user.login if user is not None else "",
                }
            )
            card["linked_screenings"] = links
            # One transaction: the card's link, and a sealed case event for the team.
            vault.record_case_event(
                record_id,
                LINKED,
                now,
                note=(
                    f"earlier screening {earlier_id} (site {match['site']}, week "
                    f"{match['week']}, tier {match['tier']})"
                ),
                case_card=card,
            )
            emit(
                args,
                {"record_id": record_id, "linked": match},
                lines[3].format(
                    code=record_id[:6].upper(),
                    earlier=earlier_id[:6].upper(),
                    site=match["site"],
                    week=match["week"],
                ),
            )
            return 0
        cards = vault.case_cards([m["record_id"] for m in found]) if found else {}
        text: list[str] = []
        for m in found:
            linked = {
                x["record_id"] for x in cards.get(m["record_id"], {}).get("linked_screenings", [])
            }
            for e in m["earlier"]:
                text.append(
                    lines[0].format(
                        code=m["record_id"][:6].upper(),
                        site=e["site"],
                        week=e["week"],
                        tier=e["tier"],
                        linked=lines[1] if e["record_id"] in linked else "",
                    )
                )
        emit(args, {"matches": found}, "\n".join(text) or lines[2])
    return 0
