"""Enrolment: a device spends a one-time code (open, rate-limited by address), and staff hand
codes out for their own sites."""

from fastapi import APIRouter, HTTPException, Request

from fieldscreen.sync.canonical import b64d
from fieldscreen.sync.errors import EnvelopeError, SyncError
from fieldscreen.sync.server.routes.auth import Server, Staff, anonymous_limit
from fieldscreen.sync.server.routes.wire import (
    EnrolCode,
    EnrolCodeRequest,
    EnrollRequest,
    EnrollResponse,
)

__all__ = ["router"]

router = APIRouter()


@router.post("/enroll", response_model=EnrollResponse, tags=["open"])
def enroll(body: EnrollRequest, request: Request, context: Server) -> EnrollResponse:
    anonymous_limit(context, request)
    try:
        public_key = b64d(body.public_key, "public key")
        proof = b64d(body.proof, "proof")
        device_id, token, site = context.storage.repos.credentials.enroll(
            body.code, public_key, proof, body.label, body.device_id
        )
    except (EnvelopeError, SyncError):
        raise HTTPException(403, {"code": "sync-enrol-code"}) from None
    return EnrollResponse(device_id=device_id, token=token, site=site)


@router.post("/admin/enroll-codes", response_model=EnrolCode, tags=["staff"])
def enrol_code(body: EnrolCodeRequest, principal: Staff, context: Server) -> EnrolCode:
    if not principal.sees(body.site):
        raise HTTPException(403, {"code": "forbidden"})
    return EnrolCode(
        code=context.storage.repos.credentials.create_enrol_code(body.site, hours=body.hours),
        site=body.site,
    )
