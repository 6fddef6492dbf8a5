"""Devices: a device's own status (it reports its sequence number), the staff's list of
devices and an admin's revocation or wipe."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from fieldscreen.sync.server.routes.auth import Admin, Device, Server, Staff
from fieldscreen.sync.server.routes.wire import (
    DeviceId,
    DeviceInfo,
    DeviceStatusResponse,
    StatusChange,
)

__all__ = ["router"]

router = APIRouter()


@router.get("/device/status", response_model=DeviceStatusResponse, tags=["device"])
def device_status(
    principal: Device,
    context: Server,
    seq: Annotated[int | None, Query(ge=0, lt=2**53)] = None,
) -> DeviceStatusResponse:
    assert principal.device_id is not None
    row = context.storage.repos.devices.contact(principal.device_id, seq)
    return DeviceStatusResponse(
        device_id=row.id,
        status=row.status,  # type: ignore[arg-type]
        rollback_suspected=row.rollback_suspected,
        last_seq=row.last_seq,
        server_time=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


@router.get("/admin/devices", response_model=list[DeviceInfo], tags=["staff"])
def list_devices(principal: Staff, context: Server) -> list[DeviceInfo]:
    return [DeviceInfo(**d.public()) for d in context.storage.repos.devices.visible_to(principal)]


@router.post("/admin/devices/{device_id}/status", response_model=DeviceInfo, tags=["staff"])
def set_status(
    device_id: DeviceId, body: StatusChange, principal: Admin, context: Server
) -> DeviceInfo:
    storage = context.storage
    if storage.repos.devices.get(device_id[:64]) is None:
        raise HTTPException(404, {"code": "server-device-unknown"})
    row = storage.repos.devices.set_status(device_id, body.status, principal.label)
    return DeviceInfo(**row.public())
