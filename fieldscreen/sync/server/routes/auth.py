"""Who is calling: the server's context of one app, and the dependencies a route names to be
reached (``Device``, ``Staff``, ``Admin``, ``Partner``) or to be counted as an anonymous caller.

A device's token alone opens nothing: its enrolled key must have signed the request, the body
included. A device whose status is ``revoked`` or ``wipe`` gets 403 with its status in the body
and the ``FS-Device-Status`` header before anything else happens, so that it wipes first.
"""

# No "from __future__ import annotations": FastAPI reads the dependency annotations at run time.

import base64
import binascii
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from fieldscreen import crypto
from fieldscreen.sync.request_auth import (
    HEADER_NONCE,
    HEADER_SERVER_TIME,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    WINDOW_SECONDS,
    api_path,
    request_message,
)
from fieldscreen.sync.server import timing
from fieldscreen.sync.server.gate import Admission, Gate
from fieldscreen.sync.server.limits import ServerConfig
from fieldscreen.sync.server.storage import Principal, Storage

__all__ = [
    "Admin",
    "Deferred",
    "Device",
    "Partner",
    "Server",
    "ServerContext",
    "Staff",
    "SubmittingDevice",
    "anonymous_limit",
    "batch_limit",
]


@dataclass
class Slots:
    """The submits this process holds: taken before the caller is authenticated, given back
    once the submit is answered (counted in the event loop's thread only)."""

    held: int = 0


@dataclass(frozen=True)
class ServerContext:
    """What every route of one app works with (``app.state.server``). Rate limits and request
    nonces live in the database (the :class:`Gate`), so they hold for every process serving the
    same database; ``slots`` counts the submits this process holds and ``in_flight`` those
    being stored per device, in this process's event loop."""

    storage: Storage
    config: ServerConfig
    gate: Gate
    clock: Callable[[], float]
    in_flight: Counter[str] = field(default_factory=Counter)
    slots: Slots = field(default_factory=Slots)


def server(request: Request) -> ServerContext:
    context: ServerContext = request.app.state.server
    return context


Server = Annotated[ServerContext, Depends(server)]


def too_many(wait: float) -> HTTPException:
    return HTTPException(429, {"code": "sync-busy"}, headers={"Retry-After": str(int(wait))})


def _address(request: Request) -> str:
    return "ip:" + (request.client.host if request.client else "?")


def anonymous_limit(context: ServerContext, request: Request) -> None:
    """The rate limit of a caller without a credential, by its address (429 beyond it)."""
    config = context.config
    wait = context.gate.admit(_address(request), config.anonymous_rate, config.anonymous_burst).wait
    if wait:
        raise too_many(wait)


def batch_limit(context: ServerContext, count: int) -> None:
    if count > context.config.max_batch:
        raise HTTPException(413, {"code": "batch-too-large"})


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _unauthenticated(code: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(
        401, {"code": code}, headers={"WWW-Authenticate": "Bearer", **(headers or {})}
    )


def _signature_headers(context: ServerContext, request: Request) -> tuple[int, str, bytes]:
    """(timestamp, nonce, signature) of a device request, or 401."""
    try:
        timestamp = int(request.headers.get(HEADER_TIMESTAMP, ""))
        nonce = request.headers.get(HEADER_NONCE, "")
        signature = base64.b64decode(request.headers.get(HEADER_SIGNATURE, ""), validate=True)
    except (ValueError, binascii.Error):
        raise _unauthenticated("request-unsigned") from None
    if len(nonce) != 32 or not all(c in "0123456789abcdef" for c in nonce):
        raise _unauthenticated("request-unsigned")
    if len(signature) != 64:
        raise _unauthenticated("request-unsigned")
    now = context.clock()
    if abs(now - timestamp) > WINDOW_SECONDS:
        raise _unauthenticated("request-stale", {HEADER_SERVER_TIME: str(int(now))})
    return timestamp, nonce, signature


@dataclass
class Deferred:
    """A device submit's rate count and nonce, not yet written: they go into the transaction
    that stores its envelopes (:meth:`in_transaction`, the group commit's), or, when none does
    (nothing in the batch to store, a request refused before), into one of their own
    (:meth:`alone`). Either way a replayed submit stores nothing: its nonce collides in the
    transaction, which then writes nothing of that submit."""

    context: ServerContext
    key: str
    nonce: tuple[str, str, int]
    done: bool = False

    def in_transaction(self, conn: Connection) -> HTTPException | None:
        """Count it and keep its nonce in ``conn``'s transaction; why it is refused, or None."""
        self.done = True
        config = self.context.config
        return _refusal(
            self.context.gate.admit_in(conn, self.key, config.rate, config.burst, self.nonce)
        )

    def alone(self) -> None:
        """Count it and keep its nonce in a transaction of its own, unless done already
        (401 or 429 if refused)."""
        if self.done:
            return
        self.done = True
        config = self.context.config
        refusal = _refusal(self.context.gate.admit(self.key, config.rate, config.burst, self.nonce))
        if refusal is not None:
            raise refusal


def _refusal(admission: Admission) -> HTTPException | None:
    if admission.wait:
        return too_many(admission.wait)
    if admission.replayed:
        return _unauthenticated("request-replayed")
    return None


def _admit(
    context: ServerContext, request: Request, token: str, body: bytes, defer: bool = False
) -> Principal:
    """Who is calling, in one worker thread (it reads the database): the credential, the
    device's status, the rate limit and nonce, and a device's request signature.

    ``defer`` (a device's submit): the rate limit is only read here, and the count and the
    nonce are left in ``request.state.admission`` (a :class:`Deferred`) for the transaction
    that stores the batch; on SQLite the submit then takes the database's writer lock once,
    in its group commit, and not also for its nonce. Work in flight is bounded meanwhile by
    the process's slots (``max_in_flight``)."""
    storage, config = context.storage, context.config
    with timing.part("authenticate"):
        principal = storage.authenticate(token)
    if principal is None:
        anonymous_limit(context, request)  # guessing tokens counts against the address
        raise _unauthenticated("unauthenticated")
    if principal.role == "device" and principal.device_status != "active":
        raise HTTPException(
            403,
            {"code": "sync-revoked", "device_status": principal.device_status},
            headers={"FS-Device-Status": principal.device_status},
        )
    key = "t:" + hashlib.sha256(token.encode()).hexdigest()[:40]
    nonce = None
    if principal.role == "device":
        assert principal.device_id is not None
        timestamp, value, _signature = _signature_headers(context, request)
        nonce = (principal.device_id, value, timestamp)
    deferred = None
    if defer and nonce is not None:
        with timing.part("rate-read"):
            wait = context.gate.over(key, config.rate, config.burst)
        if wait:
            raise too_many(wait)
        deferred = Deferred(context, key, nonce)
    else:
        with timing.part("rate-nonce"):
            refusal = _refusal(context.gate.admit(key, config.rate, config.burst, nonce))
        if refusal is not None:
            raise refusal
    if principal.role != "device":
        return principal
    # A device's token alone opens nothing: its enrolled key must have signed the request,
    # the body included (one signature covers a whole batch of envelopes).
    with timing.part("request-signature"):
        signed = _signed_by_device(context, request, principal, body)
    if not signed:
        if deferred is not None:
            deferred.alone()  # counted (and its nonce kept) as any refused request is
        # The device's token with somebody else's signature: a stolen token, most likely.
        # Noted for the admin (the rate limit above bounds how often).
        storage.repos.audit.record(principal.device_id or "?", "request-signature-refused", {})
        raise _unauthenticated("request-signature")
    request.state.admission = deferred
    return dataclasses.replace(principal, signed=True)


def _signed_by_device(
    context: ServerContext, request: Request, principal: Principal, body: bytes
) -> bool:
    timestamp, nonce, signature = _signature_headers(context, request)
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    message = request_message(
        request.method,
        api_path(raw + (b"?" + query if query else b"")),
        timestamp,
        nonce,
        principal.device_id or "",
        hashlib.sha256(body).hexdigest(),
    )
    key = principal.public_key
    return key is not None and crypto.verify(key, message, signature)


async def _caller(request: Request, context: ServerContext, defer: bool) -> Principal:
    token = _bearer(request)
    if token is None or len(token) > 256:
        await run_in_threadpool(anonymous_limit, context, request)
        raise _unauthenticated("unauthenticated")
    try:
        body = await request.body()  # kept by the request for the route
    except ClientDisconnect:
        raise HTTPException(413, {"code": "request-too-large"}) from None
    return await timing.in_thread("admit-thread-wait", _admit, context, request, token, body, defer)


async def caller(request: Request, context: Server) -> Principal:
    """The authenticated caller of any route that names a role (401, 403 or 429 otherwise)."""
    return await _caller(request, context, defer=False)


async def submitter(request: Request, context: Server) -> Principal:
    """:func:`caller` for a device's submit: a device's rate count and nonce are left for the
    transaction that stores the batch (``request.state.admission``, see :class:`Deferred`)."""
    return await _caller(request, context, defer=True)


def _device(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    if principal.role != "device":
        raise HTTPException(403, {"code": "forbidden"})
    return principal


def _submitting_device(principal: Annotated[Principal, Depends(submitter)]) -> Principal:
    return _device(principal)


def _staff(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    if principal.role not in {"admin", "coordinator"}:
        raise HTTPException(403, {"code": "forbidden"})
    return principal


def _admin(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    if principal.role != "admin":
        raise HTTPException(403, {"code": "forbidden"})
    return principal


def _partner(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    if principal.role != "partner" or principal.partner is None:
        raise HTTPException(403, {"code": "forbidden"})
    return principal


#: A signed request of an enrolled, active device.
Device = Annotated[Principal, Depends(_device)]
#: :data:`Device` on the submit route, its rate count and nonce left for the group commit.
SubmittingDevice = Annotated[Principal, Depends(_submitting_device)]
#: An admin or a coordinator (a coordinator sees its own sites).
Staff = Annotated[Principal, Depends(_staff)]
#: An admin.
Admin = Annotated[Principal, Depends(_admin)]
#: A partner organisation's credential: it reaches the partner's own handover packets only.
Partner = Annotated[Principal, Depends(_partner)]
