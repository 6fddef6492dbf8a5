"""Envelopes up: which of a device's pairs the server lacks, a device's batch (bounded in
flight per process and per device), and a coordinator's relay of other laptops' bundles.

A device's two routes read their body as plain JSON (orjson: a batch is mostly long base64
strings, which it scans several times faster than the standard library) in a worker thread;
the request models are still what the OpenAPI document describes.
"""

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from fieldscreen.sync.server import timing
from fieldscreen.sync.server.routes.auth import (
    Deferred,
    Device,
    Server,
    ServerContext,
    Staff,
    SubmittingDevice,
    batch_limit,
)
from fieldscreen.sync.server.routes.wire import (
    HEX64_PATTERN,
    MAX_MISSING,
    UUID_PATTERN,
    MissingResponse,
    OutcomeWire,
    SubmitRequest,
    SubmitResponse,
)
from fieldscreen.sync.server.storage import Outcome, Principal

__all__ = ["router"]

router = APIRouter()

_MISSING_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {  # MissingRequest (Pair is a component: see the response)
                    "title": "MissingRequest",
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Pair"},
                            "maxItems": MAX_MISSING,
                        }
                    },
                    "required": ["items"],
                    "additionalProperties": False,
                }
            }
        },
    }
}

_SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmitRequest"}}},
    }
}


def _invalid() -> HTTPException:
    return HTTPException(422, {"code": "request-invalid"})


def _parse_pairs(body: bytes) -> list[tuple[str, str]]:
    """The pairs of a ``MissingRequest``, checked as its model would (422 otherwise)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _invalid() from None
    items = data.get("items") if isinstance(data, dict) and len(data) == 1 else None
    if not isinstance(items, list) or len(items) > MAX_MISSING:
        raise _invalid()
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 2:
            raise _invalid()
        record_id, sha256 = item.get("record_id"), item.get("sha256")
        if not (
            isinstance(record_id, str)
            and isinstance(sha256, str)
            and UUID_PATTERN.fullmatch(record_id)
            and HEX64_PATTERN.fullmatch(sha256)
        ):
            raise _invalid()
        pairs.append((record_id, sha256))
    return pairs


@router.post(
    "/envelopes/missing",
    response_model=MissingResponse,
    tags=["device"],
    openapi_extra=_MISSING_BODY,
)
async def missing(request: Request, principal: Device, context: Server) -> Response:
    body = await request.body()  # already read (and its signature checked) by `caller`
    answer = await run_in_threadpool(_missing_pairs, context, body, principal)
    return Response(answer, media_type="application/json")


def _missing_pairs(context: ServerContext, body: bytes, principal: Principal) -> bytes:
    assert principal.device_id is not None
    storage = context.storage
    pairs = _parse_pairs(body)
    state = storage.repos.receipts.status_of(principal.device_id, pairs)

    def pick(kind: str) -> list[dict[str, str]]:
        return [{"record_id": r, "sha256": s} for (r, s), v in state.items() if v == kind]

    held = [p for p, v in state.items() if v == "held"]
    receipt = storage.repos.receipts.receipt(principal.device_id, held, [])
    answer = {
        "missing": pick("missing"),
        "conflicts": pick("conflict"),
        "quarantined": pick("quarantined"),
        "receipt": receipt.to_json(),
    }  # the shape of MissingResponse, encoded directly
    return orjson.dumps(answer)


def _submit_batch(
    context: ServerContext, body: bytes, principal: Principal, admission: Deferred | None
) -> bytes:
    """Parse once, store, sign the receipt, encode the answer (in a worker thread).

    Each envelope is checked once, strictly, by ``Envelope.from_json`` in
    :meth:`Ingest.ingest` (a malformed one is ``rejected``). The request's rate count and
    nonce (``admission``) are written in the transaction that stores the batch, or, when
    none does, in one of their own before the answer.
    """
    assert principal.device_id is not None
    storage = context.storage
    try:
        try:
            with timing.part("parse"):
                data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _invalid() from None
        items = data.get("envelopes") if isinstance(data, dict) and len(data) == 1 else None
        if not isinstance(items, list) or not items:
            raise _invalid()
        batch_limit(context, len(items))
        admit = None if admission is None else admission.in_transaction
        outcomes = storage.repos.ingest.ingest(items, principal, admit)
    finally:
        if admission is not None:
            admission.alone()  # unless the batch's transaction did it
    delivered = [(o.record_id, o.sha256) for o in outcomes if o.delivered]
    conflicts = [(o.record_id, o.sha256) for o in outcomes if o.outcome == "conflict"]
    with timing.part("receipt"):
        receipt = storage.repos.receipts.receipt(principal.device_id, delivered, conflicts)
    answer = {"results": [_outcome(o) for o in outcomes], "receipt": receipt.to_json()}
    return orjson.dumps(answer)


def _busy() -> HTTPException:
    """The laptop keeps the batch and comes back after Retry-After (plus its jitter)."""
    return HTTPException(503, {"code": "server-busy"}, headers={"Retry-After": "1"})


async def room(request: Request, context: Server) -> AsyncIterator[None]:
    """A process slot for a submit, taken before the caller is authenticated (a route
    dependency, solved before the caller's) and held until the submit is answered; none
    free: 503 at once.

    The credential, the rate limit and nonce (a write to the database) and the request's
    signature are the work of an admitted submit: a submit sent back only after them, as
    before, paid all of it on the threads and the database the admitted ones wait for, and
    with many devices at once most submits were sent back. The slot is taken once the body
    has come (a body sent slowly holds none), and whether the submit is within its device's
    own cap is only known once it is authenticated (``submit``)."""
    slots, cap = context.slots, context.config.max_in_flight
    if slots.held >= cap:
        raise _busy()
    if context.config.server_timing:
        request.state.timing = (timing.started(), time.perf_counter())
    try:
        await request.body()  # kept by the request for the caller and the route
    except ClientDisconnect:
        raise HTTPException(413, {"code": "request-too-large"}) from None
    if slots.held >= cap:
        raise _busy()
    slots.held += 1
    try:
        yield
    finally:
        slots.held -= 1


@router.post(
    "/envelopes",
    response_model=SubmitResponse,
    tags=["device"],
    openapi_extra=_SUBMIT_BODY,
    dependencies=[Depends(room)],
)
async def submit(request: Request, principal: SubmittingDevice, context: Server) -> Response:
    config, in_flight = context.config, context.in_flight
    device_id = principal.device_id or ""
    if in_flight[device_id] >= config.max_in_flight_per_device:
        raise _busy()  # this device's own cap (the process's: ``room``)
    in_flight[device_id] += 1
    try:
        body = await request.body()  # already read (and its signature checked) by `caller`
        admission = getattr(request.state, "admission", None)
        answer = await timing.in_thread(
            "submit-thread-wait", _submit_batch, context, body, principal, admission
        )
    finally:
        in_flight[device_id] -= 1
        if not in_flight[device_id]:
            del in_flight[device_id]
    headers = None
    counted = getattr(request.state, "timing", None)
    if counted is not None:
        parts, start = counted
        parts["total"] = time.perf_counter() - start
        headers = {"Server-Timing": timing.header(parts)}
    return Response(answer, media_type="application/json", headers=headers)


@router.post("/admin/bundles", response_model=SubmitResponse, tags=["staff"])
def relay(body: SubmitRequest, principal: Staff, context: Server) -> SubmitResponse:
    """A coordinator relays envelopes from other laptops' bundles (own sites only)."""
    batch_limit(context, len(body.envelopes))
    outcomes = context.storage.repos.ingest.ingest(
        [e.model_dump() for e in body.envelopes], principal
    )
    return SubmitResponse(results=[OutcomeWire(**_outcome(o)) for o in outcomes], receipt=None)


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {
        "record_id": outcome.record_id,
        "sha256": outcome.sha256,
        "outcome": outcome.outcome,
        "reason": outcome.reason,
    }
