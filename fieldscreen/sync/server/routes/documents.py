"""Signed documents down (forms, directories, provisionings) and an admin's publishing."""

from typing import Any, Literal

from fastapi import APIRouter, HTTPException

from fieldscreen.sync.canonical import canonical, parse_json
from fieldscreen.sync.errors import EnvelopeError, ServerError, SyncError
from fieldscreen.sync.server.routes.auth import Admin, Device, Server
from fieldscreen.sync.server.routes.wire import DocName, DocumentRef, Updates

__all__ = ["router"]

router = APIRouter()


@router.get("/updates", response_model=Updates, tags=["device"])
def updates(_principal: Device, context: Server) -> Updates:
    return Updates(documents=[DocumentRef(**d) for d in context.storage.repos.documents.newest()])


@router.get("/updates/{kind}/{name}/{version}", tags=["device"])
def update(
    kind: Literal["form", "directory", "provisioning"],
    name: DocName,
    version: DocName,
    _principal: Device,
    context: Server,
) -> dict[str, Any]:
    data = context.storage.repos.documents.get(kind, name[:128], version[:128])
    if data is None:
        raise HTTPException(404, {"code": "not-found"})
    return dict(parse_json(data, "document"))


@router.post("/admin/documents", response_model=DocumentRef, tags=["staff"])
def publish(body: dict[str, Any], principal: Admin, context: Server) -> DocumentRef:
    try:
        document = context.storage.repos.documents.publish(canonical(body), principal.label)
    except ServerError as exc:  # a provisioning that carries the match secret
        raise HTTPException(422, {"code": exc.code}) from None
    except (EnvelopeError, SyncError, ValueError, TypeError):
        raise HTTPException(422, {"code": "sync-bad-signature"}) from None
    return DocumentRef(kind=document.kind, name=document.name, version=document.version)
