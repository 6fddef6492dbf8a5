"""Signed receipts: a device's own, and staff's of a device of their sites."""

from typing import Any

from fastapi import APIRouter, HTTPException

from fieldscreen.sync.server.routes.auth import Device, Server, Staff
from fieldscreen.sync.server.routes.wire import DeviceId

__all__ = ["router"]

router = APIRouter()


@router.get("/receipt", tags=["device"])
def device_receipt(principal: Device, context: Server) -> dict[str, Any]:
    assert principal.device_id is not None
    return context.storage.repos.receipts.receipt(principal.device_id).to_json()


@router.get("/admin/receipts/{device_id}", tags=["staff"])
def staff_receipt(device_id: DeviceId, principal: Staff, context: Server) -> dict[str, Any]:
    storage = context.storage
    row = storage.repos.devices.get(device_id[:64])
    if row is None or not principal.sees(row.site):
        raise HTTPException(404, {"code": "server-device-unknown"})
    return storage.repos.receipts.receipt(row.id).to_json()
