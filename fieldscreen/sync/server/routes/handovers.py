"""Handover packets through the server (docs/handover.md): a device posts a packet sealed to a
partner's key; the partner (its own credential, ``fieldscreen-server partner add``) lists and
fetches its packets and posts its signed acknowledgement; the device that sent a packet picks
the acknowledgement up at its next sync. The server keeps a packet's bytes as they came and
never opens one (it cannot: it is sealed to the partner)."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.repositories.handovers import MAX_PACKET_BYTES
from fieldscreen.sync.server.routes.auth import Device, Partner, Server, Staff
from fieldscreen.sync.server.routes.wire import DEVICE_RE, DeviceId

__all__ = ["router"]

router = APIRouter()

PacketId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
PartnerCode = Annotated[str, Path(pattern=DEVICE_RE)]

_STATUS = {
    "server-partner-unknown": 404,
    "server-handover-unknown": 404,
    "server-handover-conflict": 409,
    "server-handover-too-large": 413,
    "server-handover-quota": 507,
    "server-handover-ack-forged": 422,
    "server-handover-unsigned": 422,
}
_RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _refused(exc: ServerError) -> HTTPException:
    return HTTPException(_STATUS.get(exc.code, 422), {"code": exc.code})


@router.post(
    "/handover/packets/{partner}/{packet_id}",
    tags=["device"],
    openapi_extra=_RAW_BODY,
)
async def post_packet(
    partner: PartnerCode,
    packet_id: PacketId,
    request: Request,
    principal: Device,
    context: Server,
) -> dict[str, str]:
    """Keep a sealed packet for ``partner`` (at most 6 MiB); a retry of the same bytes is a
    ``duplicate``, other bytes under the same id a 409."""
    body = await request.body()  # already read (and its signature checked) by `caller`
    if len(body) > MAX_PACKET_BYTES:
        raise HTTPException(413, {"code": "server-handover-too-large"})
    assert principal.device_id is not None
    try:
        outcome = await run_in_threadpool(
            context.storage.repos.handovers.post, principal.device_id, partner, packet_id, body
        )
    except ServerError as exc:
        raise _refused(exc) from None
    return {"packet_id": packet_id, "outcome": outcome}


@router.post("/admin/handover/packets", tags=["staff"], openapi_extra=_RAW_BODY)
async def relay_packet(request: Request, principal: Staff, context: Server) -> dict[str, str]:
    """A coordinator relays a handover packet from another laptop's USB bundle (its own
    sites' devices only): kept when an active device's key signed it, as the device's own
    post keeps it (a retry is a ``duplicate``)."""
    body = await request.body()
    if len(body) > MAX_PACKET_BYTES:
        raise HTTPException(413, {"code": "server-handover-too-large"})
    try:
        packet_id, outcome = await run_in_threadpool(
            context.storage.post_carried_handover, body, principal
        )
    except ServerError as exc:
        raise _refused(exc) from None
    return {"packet_id": packet_id, "outcome": outcome}


@router.get("/admin/handover/acks/{device_id}", tags=["staff"])
def staff_acks(
    device_id: DeviceId,
    principal: Staff,
    context: Server,
    after: Annotated[str, Query(max_length=128)] = "",
) -> dict[str, Any]:
    """The partners' acknowledgements of a laptop's packets, for a coordinator relaying its
    bundle (own sites only) to carry back with its receipt, as ``GET /handover/acks``."""
    row = context.storage.repos.devices.get(device_id[:64])
    if row is None or not principal.sees(row.site):
        raise HTTPException(404, {"code": "server-device-unknown"})
    return {"acks": context.storage.repos.handovers.acks_for(row.id, after)}


@router.get("/handover/acks", tags=["device"])
def device_acks(
    principal: Device,
    context: Server,
    after: Annotated[str, Query(max_length=128)] = "",
) -> dict[str, Any]:
    """The partners' acknowledgements of the packets this device sent (base64 of each),
    those after the cursor ``after`` (the ``cursor`` of the last one the device applied)."""
    assert principal.device_id is not None
    return {"acks": context.storage.repos.handovers.acks_for(principal.device_id, after)}


@router.get("/partner/packets", tags=["partner"])
def partner_packets(principal: Partner, context: Server) -> dict[str, Any]:
    assert principal.partner is not None
    return {
        "partner": principal.partner,
        "packets": context.storage.repos.handovers.listing(principal.partner),
    }


@router.get("/partner/packets/{packet_id}", tags=["partner"])
def partner_packet(packet_id: PacketId, principal: Partner, context: Server) -> Response:
    assert principal.partner is not None
    data = context.storage.repos.handovers.fetch(principal.partner, packet_id)
    if data is None:  # another partner's packet is as absent as none
        raise HTTPException(404, {"code": "server-handover-unknown"})
    return Response(data, media_type="application/json")


@router.post("/partner/packets/{packet_id}/ack", tags=["partner"], openapi_extra=_RAW_BODY)
async def partner_ack(
    packet_id: PacketId, request: Request, principal: Partner, context: Server
) -> dict[str, str]:
    """The partner's signed acknowledgement of one of its packets; a replay is a
    ``duplicate`` and changes nothing."""
    assert principal.partner is not None
    body = await request.body()
    try:
        outcome = await run_in_threadpool(
            context.storage.repos.handovers.acknowledge, principal.partner, packet_id, body
        )
    except ServerError as exc:
        raise _refused(exc) from None
    return {"packet_id": packet_id, "outcome": outcome}
