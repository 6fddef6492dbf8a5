"""The HTTP API, version 1 (``/api/v1``). Its OpenAPI document (``/api/v1/openapi.json``) is
the machine-readable protocol description; ``docs/protocol.md`` is the prose one.

Every response to a failure is a small problem object ``{"code", "status"}`` whose ``code`` is a
catalogue code where one exists. A device whose status is ``revoked`` or ``wipe`` gets 403 on
every route with its status in the body and the ``FS-Device-Status`` header, before anything
else happens, so that it wipes first.
"""

# No "from __future__ import annotations": FastAPI reads the dependency annotations of the
# routes defined inside create_app at runtime, and they name local aliases.

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from fieldscreen import PROTOCOL_VERSION, __version__, crypto
from fieldscreen.sync.canonical import b64d, parse_json
from fieldscreen.sync.envelope import key_id_hex
from fieldscreen.sync.errors import EnvelopeError, ServerError, SyncError
from fieldscreen.sync.request_auth import (
    HEADER_NONCE,
    HEADER_SERVER_TIME,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    WINDOW_SECONDS,
    api_path,
    request_message,
)
from fieldscreen.sync.server.gate import Gate
from fieldscreen.sync.server.limits import BodyLimit
from fieldscreen.sync.server.storage import Principal, Storage

__all__ = ["ServerConfig", "create_app"]

PREFIX = f"/api/v{PROTOCOL_VERSION}"
UUID_RE = r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$"
HEX64_RE = r"^[0-9a-f]{64}$"
ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
DEVICE_RE = r"^[a-z0-9][a-z0-9-]{0,63}$"
PRINTABLE_RE = r"^[^\x00-\x1f\x7f]*$"
DeviceId = Annotated[str, Path(pattern=DEVICE_RE)]
UUID_PATTERN = re.compile(UUID_RE)
HEX64_PATTERN = re.compile(HEX64_RE)
MAX_MISSING = 2000
DocName = Annotated[str, Path(pattern=NAME_RE)]


@dataclass(frozen=True)
class ServerConfig:
    """Limits of one server process."""

    max_body_bytes: int = 8 * 1024 * 1024
    max_batch: int = 500
    rate: float = 50.0
    burst: int = 200
    anonymous_rate: float = 2.0
    anonymous_burst: int = 30
    #: Submits one process stores at once (about a second of work under P8's load), and how
    #: many of them one device may hold: beyond either, 503 with ``Retry-After`` at once, so
    #: an admitted submit waits for a bounded amount of work and no device crowds out others.
    max_in_flight: int = 6
    max_in_flight_per_device: int = 2


# ---------------------------------------------------------------------- wire models
class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Problem(BaseModel):
    code: str
    status: int
    device_status: str | None = None


class Health(BaseModel):
    status: Literal["ok"]
    protocol: int
    version: str
    receipt_key_id: str | None = Field(
        default=None,
        description="The id of the key that signs this server's receipts: a laptop checks it "
        "against its provisioning before it spends a one-time enrolment code.",
    )


class EnrollRequest(Strict):
    code: str = Field(min_length=4, max_length=64)
    public_key: str = Field(min_length=4, max_length=128, description="Ed25519 key, base64")
    proof: str = Field(
        min_length=4, max_length=256, description="signature of the enrol prefix, code and key"
    )
    label: str = Field(default="", max_length=128, pattern=PRINTABLE_RE)
    device_id: str | None = Field(
        default=None, pattern=DEVICE_RE, description="the id the device's vault already uses"
    )


class EnrollResponse(BaseModel):
    device_id: str
    token: str
    site: str


class DeviceStatusResponse(BaseModel):
    device_id: str
    status: Literal["active", "revoked", "wipe"]
    rollback_suspected: bool
    last_seq: int
    server_time: str


class EnvelopeWire(Strict):
    """A sealed envelope (see ``docs/protocol.md``); deeper checks happen per item."""

    v: Literal[1]
    record_id: str = Field(pattern=UUID_RE)
    kind: Literal["screening", "draft", "audit", "event"]  # = sync.envelope.KINDS (a test)
    form_id: str = Field(pattern=ID_RE)
    form_version: str = Field(pattern=ID_RE)
    device_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    seq: int = Field(ge=1, lt=2**53)
    created: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    key_id: str = Field(pattern=r"^[0-9a-f]{8,64}$")
    sealed: str = Field(min_length=64, max_length=6 * 1024 * 1024)
    sha256: str = Field(pattern=HEX64_RE)
    aggregate: dict[str, str | bool | int | list[str] | None] = Field(max_length=32)
    signature: str = Field(min_length=86, max_length=90)


class Pair(Strict):
    record_id: str = Field(pattern=UUID_RE)
    sha256: str = Field(pattern=HEX64_RE)


class MissingRequest(Strict):
    items: list[Pair] = Field(max_length=MAX_MISSING)


class MissingResponse(BaseModel):
    missing: list[Pair]
    conflicts: list[Pair]
    quarantined: list[Pair]
    receipt: dict[str, Any] = Field(description="signed receipt of the pairs already held")


class SubmitRequest(Strict):
    envelopes: list[EnvelopeWire] = Field(min_length=1, max_length=2000)


class OutcomeWire(BaseModel):
    record_id: str
    sha256: str
    outcome: Literal["stored", "duplicate", "destroyed", "conflict", "quarantined", "rejected"]
    reason: str | None = None


class SubmitResponse(BaseModel):
    results: list[OutcomeWire]
    receipt: dict[str, Any] | None = Field(
        description="signed receipt of what this batch delivered (device submissions)"
    )


class DocumentRef(BaseModel):
    kind: str
    name: str
    version: str


class Updates(BaseModel):
    documents: list[DocumentRef]


class StatusChange(Strict):
    status: Literal["active", "revoked", "wipe"]


class DeviceInfo(BaseModel):
    id: str
    site: str
    label: str
    status: str
    enrolled: str
    last_contact: str | None
    last_seq: int
    rollback_suspected: bool


class EnrolCodeRequest(Strict):
    site: str = Field(pattern=ID_RE)
    hours: int = Field(default=72, ge=1, le=24 * 30)


class EnrolCode(BaseModel):
    code: str
    site: str


class RetentionRequest(Strict):
    days: int = Field(ge=30, le=36500)


class RetentionResult(BaseModel):
    destroyed: int


# ---------------------------------------------------------------------- the app
def create_app(
    storage: Storage, config: ServerConfig | None = None, *, clock: Any = time.time
) -> Any:
    """The ASGI application over ``storage`` (wrapped in the body-size limit).

    Rate limits and request nonces live in the database (:class:`Gate`), so they hold for
    every process serving the same database. ``clock`` is the server's time (tests skew it).
    """
    if not storage.unlocked:  # every answer to a device carries a signed receipt
        raise ServerError("server-locked")
    config = config or ServerConfig()
    gate = Gate(storage.light_engine, clock)
    app = FastAPI(
        title="FieldScreen sync",
        version=f"{PROTOCOL_VERSION}.0 (server {__version__})",
        description=(
            "Sealed envelopes up, signed receipts, forms and device status down. The server "
            "stores what it cannot read. See docs/protocol.md."
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses={
            401: {"model": Problem},
            403: {"model": Problem},
            413: {"model": Problem},
            429: {"model": Problem},
            503: {"model": Problem},
        },
    )
    app.state.storage = storage

    @app.exception_handler(StarletteHTTPException)
    async def _http_problem(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        raw: Any = exc.detail
        detail = raw if isinstance(raw, dict) else {"code": str(raw).lower().replace(" ", "-")}
        return JSONResponse(
            {**detail, "status": exc.status_code},
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, _exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"code": "request-invalid", "status": 422}, status_code=422)

    @app.exception_handler(sa.exc.OperationalError)
    async def _busy(_request: Request, _exc: sa.exc.OperationalError) -> JSONResponse:
        return JSONResponse(
            {"code": "server-busy", "status": 503}, status_code=503, headers={"Retry-After": "1"}
        )

    @app.exception_handler(sa.exc.DataError)
    async def _bad_data(_request: Request, _exc: sa.exc.DataError) -> JSONResponse:
        return JSONResponse({"code": "request-invalid", "status": 422}, status_code=422)

    @app.exception_handler(ServerError)
    async def _server_error(_request: Request, exc: ServerError) -> JSONResponse:
        status = 404 if exc.code == "server-device-unknown" else 503
        return JSONResponse({"code": exc.code, "status": status}, status_code=status)

    def too_many(wait: float) -> HTTPException:
        return HTTPException(429, {"code": "sync-busy"}, headers={"Retry-After": str(int(wait))})

    def address(request: Request) -> str:
        return "ip:" + (request.client.host if request.client else "?")

    def anonymous_limit(request: Request) -> None:
        wait = gate.admit(address(request), config.anonymous_rate, config.anonymous_burst).wait
        if wait:
            raise too_many(wait)

    def bearer(request: Request) -> str | None:
        value = request.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def unauthenticated(code: str, headers: dict[str, str] | None = None) -> HTTPException:
        return HTTPException(
            401, {"code": code}, headers={"WWW-Authenticate": "Bearer", **(headers or {})}
        )

    def signature_headers(request: Request) -> tuple[int, str, bytes]:
        """(timestamp, nonce, signature) of a device request, or 401."""
        try:
            timestamp = int(request.headers.get(HEADER_TIMESTAMP, ""))
            nonce = request.headers.get(HEADER_NONCE, "")
            signature = base64.b64decode(request.headers.get(HEADER_SIGNATURE, ""), validate=True)
        except (ValueError, binascii.Error):
            raise unauthenticated("request-unsigned") from None
        if len(nonce) != 32 or not all(c in "0123456789abcdef" for c in nonce):
            raise unauthenticated("request-unsigned")
        if len(signature) != 64:
            raise unauthenticated("request-unsigned")
        now = clock()
        if abs(now - timestamp) > WINDOW_SECONDS:
            raise unauthenticated("request-stale", {HEADER_SERVER_TIME: str(int(now))})
        return timestamp, nonce, signature

    def admit(request: Request, token: str, body: bytes) -> Principal:
        """Who is calling, in one worker thread (it reads the database): the credential, the
        device's status, the rate limit and nonce, and a device's request signature."""
        principal = storage.authenticate(token)
        if principal is None:
            anonymous_limit(request)  # guessing tokens counts against the address
            raise unauthenticated("unauthenticated")
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
            timestamp, value, _signature = signature_headers(request)
            nonce = (principal.device_id, value, timestamp)
        admission = gate.admit(key, config.rate, config.burst, nonce)
        if admission.wait:
            raise too_many(admission.wait)
        if admission.replayed:
            raise unauthenticated("request-replayed")
        if principal.role != "device":
            return principal
        # A device's token alone opens nothing: its enrolled key must have signed the request,
        # the body included (one signature covers a whole batch of envelopes).
        if not signed_by_device(request, principal, body):
            # The device's token with somebody else's signature: a stolen token, most likely.
            # Noted for the admin (the rate limit above bounds how often).
            storage.audit(principal.device_id or "?", "request-signature-refused", {})
            raise unauthenticated("request-signature")
        return dataclasses.replace(principal, signed=True)

    def signed_by_device(request: Request, principal: Principal, body: bytes) -> bool:
        timestamp, nonce, signature = signature_headers(request)
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

    async def caller(request: Request) -> Principal:
        token = bearer(request)
        if token is None or len(token) > 256:
            await run_in_threadpool(anonymous_limit, request)
            raise unauthenticated("unauthenticated")
        try:
            body = await request.body()  # kept by the request for the route
        except ClientDisconnect:
            raise HTTPException(413, {"code": "request-too-large"}) from None
        return await run_in_threadpool(admit, request, token, body)

    def device(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.role != "device":
            raise HTTPException(403, {"code": "forbidden"})
        return principal

    def staff(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.role not in {"admin", "coordinator"}:
            raise HTTPException(403, {"code": "forbidden"})
        return principal

    def admin(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.role != "admin":
            raise HTTPException(403, {"code": "forbidden"})
        return principal

    Device = Annotated[Principal, Depends(device)]
    Staff = Annotated[Principal, Depends(staff)]
    Admin = Annotated[Principal, Depends(admin)]

    def batch_limit(count: int) -> None:
        if count > config.max_batch:
            raise HTTPException(413, {"code": "batch-too-large"})

    # ------------------------------------------------------------------ open routes
    @app.get(f"{PREFIX}/health", response_model=Health, tags=["open"])
    def health() -> Health:
        try:
            receipt_key_id: str | None = key_id_hex(storage.keys().receipt_public)
        except ServerError:  # not initialised yet: nobody can enrol anyway
            receipt_key_id = None
        return Health(
            status="ok",
            protocol=PROTOCOL_VERSION,
            version=__version__,
            receipt_key_id=receipt_key_id,
        )

    @app.post(f"{PREFIX}/enroll", response_model=EnrollResponse, tags=["open"])
    def enroll(body: EnrollRequest, request: Request) -> EnrollResponse:
        anonymous_limit(request)
        try:
            public_key = b64d(body.public_key, "public key")
            proof = b64d(body.proof, "proof")
            device_id, token, site = storage.enroll(
                body.code, public_key, proof, body.label, body.device_id
            )
        except (EnvelopeError, SyncError):
            raise HTTPException(403, {"code": "sync-enrol-code"}) from None
        return EnrollResponse(device_id=device_id, token=token, site=site)

    # ------------------------------------------------------------------ device routes
    @app.get(f"{PREFIX}/device/status", response_model=DeviceStatusResponse, tags=["device"])
    def device_status(
        principal: Device, seq: Annotated[int | None, Query(ge=0, lt=2**53)] = None
    ) -> DeviceStatusResponse:
        assert principal.device_id is not None
        row = storage.contact(principal.device_id, seq)
        return DeviceStatusResponse(
            device_id=row.id,
            status=row.status,  # type: ignore[arg-type]
            rollback_suspected=row.rollback_suspected,
            last_seq=row.last_seq,
            server_time=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )

    def parse_pairs(body: bytes) -> list[tuple[str, str]]:
        """The pairs of a ``MissingRequest``, checked as its model would (422 otherwise)."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise HTTPException(422, {"code": "request-invalid"}) from None
        items = data.get("items") if isinstance(data, dict) and len(data) == 1 else None
        if not isinstance(items, list) or len(items) > MAX_MISSING:
            raise HTTPException(422, {"code": "request-invalid"})
        pairs: list[tuple[str, str]] = []
        for item in items:
            if not isinstance(item, dict) or len(item) != 2:
                raise HTTPException(422, {"code": "request-invalid"})
            record_id, sha256 = item.get("record_id"), item.get("sha256")
            if not (
                isinstance(record_id, str)
                and isinstance(sha256, str)
                and UUID_PATTERN.fullmatch(record_id)
                and HEX64_PATTERN.fullmatch(sha256)
            ):
                raise HTTPException(422, {"code": "request-invalid"})
            pairs.append((record_id, sha256))
        return pairs

    @app.post(
        f"{PREFIX}/envelopes/missing",
        response_model=MissingResponse,
        tags=["device"],
        openapi_extra={
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
        },
    )
    async def missing(request: Request, principal: Device) -> Response:
        body = await request.body()  # already read (and its signature checked) by `caller`
        answer = await run_in_threadpool(missing_pairs, body, principal)
        return Response(answer, media_type="application/json")

    def missing_pairs(body: bytes, principal: Principal) -> bytes:
        assert principal.device_id is not None
        pairs = parse_pairs(body)
        state = storage.status_of(principal.device_id, pairs)

        def pick(kind: str) -> list[dict[str, str]]:
            return [{"record_id": r, "sha256": s} for (r, s), v in state.items() if v == kind]

        held = [p for p, v in state.items() if v == "held"]
        receipt = storage.receipt(principal.device_id, held, [])
        answer = {
            "missing": pick("missing"),
            "conflicts": pick("conflict"),
            "quarantined": pick("quarantined"),
            "receipt": receipt.to_json(),
        }  # the shape of MissingResponse, encoded directly
        return orjson.dumps(answer)

    in_flight: Counter[str] = Counter()  # submits being stored, per device (the event loop's)

    def submit_batch(body: bytes, principal: Principal) -> bytes:
        """Parse once, store, sign the receipt, encode the answer (in a worker thread).

        The body is read as plain JSON (orjson: a batch is mostly long base64 strings, which
        it scans several times faster than the standard library) and each envelope is checked
        once, strictly, by ``Envelope.from_json`` in :meth:`Storage.ingest` (a malformed one
        is ``rejected``); the request model is still what the OpenAPI document describes.
        """
        assert principal.device_id is not None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise HTTPException(422, {"code": "request-invalid"}) from None
        items = data.get("envelopes") if isinstance(data, dict) and len(data) == 1 else None
        if not isinstance(items, list) or not items:
            raise HTTPException(422, {"code": "request-invalid"})
        batch_limit(len(items))
        outcomes = storage.ingest(items, principal)
        delivered = [(o.record_id, o.sha256) for o in outcomes if o.delivered]
        conflicts = [(o.record_id, o.sha256) for o in outcomes if o.outcome == "conflict"]
        receipt = storage.receipt(principal.device_id, delivered, conflicts)
        answer = {"results": [_outcome(o) for o in outcomes], "receipt": receipt.to_json()}
        return orjson.dumps(answer)

    @app.post(
        f"{PREFIX}/envelopes",
        response_model=SubmitResponse,
        tags=["device"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/SubmitRequest"}}
                },
            }
        },
    )
    async def submit(request: Request, principal: Device) -> Response:
        device_id = principal.device_id or ""
        if (
            in_flight.total() >= config.max_in_flight
            or in_flight[device_id] >= config.max_in_flight_per_device
        ):  # the laptop keeps the batch and comes back after Retry-After (plus its jitter)
            raise HTTPException(503, {"code": "server-busy"}, headers={"Retry-After": "1"})
        in_flight[device_id] += 1
        try:
            body = await request.body()  # already read (and its signature checked) by `caller`
            answer = await run_in_threadpool(submit_batch, body, principal)
        finally:
            in_flight[device_id] -= 1
            if not in_flight[device_id]:
                del in_flight[device_id]
        return Response(answer, media_type="application/json")

    @app.get(f"{PREFIX}/receipt", tags=["device"])
    def device_receipt(principal: Device) -> dict[str, Any]:
        assert principal.device_id is not None
        return storage.receipt(principal.device_id).to_json()

    @app.get(f"{PREFIX}/updates", response_model=Updates, tags=["device"])
    def updates(_principal: Device) -> Updates:
        return Updates(documents=[DocumentRef(**d) for d in storage.documents()])

    @app.get(f"{PREFIX}/updates/{{kind}}/{{name}}/{{version}}", tags=["device"])
    def update(
        kind: Literal["form", "directory", "provisioning"],
        name: DocName,
        version: DocName,
        _principal: Device,
    ) -> dict[str, Any]:
        data = storage.document(kind, name[:128], version[:128])
        if data is None:
            raise HTTPException(404, {"code": "not-found"})
        return dict(parse_json(data, "document"))

    # ------------------------------------------------------------------ staff routes
    @app.get(f"{PREFIX}/admin/devices", response_model=list[DeviceInfo], tags=["staff"])
    def list_devices(principal: Staff) -> list[DeviceInfo]:
        return [DeviceInfo(**d.public()) for d in storage.list_devices(principal)]

    @app.post(
        f"{PREFIX}/admin/devices/{{device_id}}/status", response_model=DeviceInfo, tags=["staff"]
    )
    def set_status(device_id: DeviceId, body: StatusChange, principal: Admin) -> DeviceInfo:
        if storage.device(device_id[:64]) is None:
            raise HTTPException(404, {"code": "server-device-unknown"})
        row = storage.set_device_status(device_id, body.status, principal.label)
        return DeviceInfo(**row.public())

    @app.post(f"{PREFIX}/admin/enroll-codes", response_model=EnrolCode, tags=["staff"])
    def enrol_code(body: EnrolCodeRequest, principal: Staff) -> EnrolCode:
        if not principal.sees(body.site):
            raise HTTPException(403, {"code": "forbidden"})
        return EnrolCode(
            code=storage.create_enrol_code(body.site, hours=body.hours), site=body.site
        )

    @app.get(f"{PREFIX}/admin/stats", tags=["staff"])
    def stats(principal: Staff) -> dict[str, Any]:
        return storage.stats(principal)

    @app.get(f"{PREFIX}/admin/report", tags=["staff"])
    def report(
        principal: Staff,
        from_week: Annotated[str, Query(pattern=r"^(\d{4}-W\d{2})?$")] = "",
        to_week: Annotated[str, Query(pattern=r"^(\d{4}-W\d{2})?$")] = "",
        site: Annotated[list[str] | None, Query(max_length=64)] = None,
    ) -> dict[str, Any]:
        """The coordinator report over the caller's sites: suppressed counts and chart series
        built from the aggregate records only (see docs/aggregates.md). ``from_week`` and
        ``to_week`` (ISO weeks, inclusive) and ``site`` (repeat) narrow what is counted; the
        answer also lists the weeks and sites that hold records, for the app's filters."""
        from fieldscreen.reports.coordinator import (
            ReportFilter,
            coordinator_report,
            weeks_and_sites,
        )

        wanted = ReportFilter(from_week, to_week, frozenset(site or ()))
        aggregates = list(storage.iter_aggregates(principal))
        weeks, sites = weeks_and_sites(aggregates)
        body = coordinator_report(aggregates, keep=wanted).to_json()
        return {**body, "weeks": weeks, "sites": sites, "filter": wanted.to_params()}

    @app.get(f"{PREFIX}/device/matches", tags=["device"])
    def device_matches(principal: Device) -> dict[str, Any]:
        """For the calling device's own screenings whose child agreed that the specialist be
        told: the earlier screenings that share a token (site, week, tier, record id). See
        docs/privacy-matching.md; audited."""
        return {"matches": storage.told_matches(principal)}

    @app.get(f"{PREFIX}/admin/matches", tags=["staff"])
    def matches(principal: Staff) -> dict[str, Any]:
        """Possible matches between screenings (they share a child's match token; see
        docs/privacy-matching.md): a coordinator's pairs with a screening of their sites, an
        admin's every pair. Each reading is written to the audit log; a device is refused."""
        return storage.matches(principal)

    @app.post(f"{PREFIX}/admin/bundles", response_model=SubmitResponse, tags=["staff"])
    def relay(body: SubmitRequest, principal: Staff) -> SubmitResponse:
        """A coordinator relays envelopes from other laptops' bundles (own sites only)."""
        batch_limit(len(body.envelopes))
        outcomes = storage.ingest([e.model_dump() for e in body.envelopes], principal)
        return SubmitResponse(results=[OutcomeWire(**_outcome(o)) for o in outcomes], receipt=None)

    @app.get(f"{PREFIX}/admin/receipts/{{device_id}}", tags=["staff"])
    def staff_receipt(device_id: DeviceId, principal: Staff) -> dict[str, Any]:
        row = storage.device(device_id[:64])
        if row is None or not principal.sees(row.site):
            raise HTTPException(404, {"code": "server-device-unknown"})
        return storage.receipt(row.id).to_json()

    @app.post(f"{PREFIX}/admin/documents", response_model=DocumentRef, tags=["staff"])
    def publish(body: dict[str, Any], principal: Admin) -> DocumentRef:
        from fieldscreen.sync.canonical import canonical

        try:
            document = storage.publish(canonical(body), principal.label)
        except ServerError as exc:  # a provisioning that carries the match secret
            raise HTTPException(422, {"code": exc.code}) from None
        except (EnvelopeError, SyncError, ValueError, TypeError):
            raise HTTPException(422, {"code": "sync-bad-signature"}) from None
        return DocumentRef(kind=document.kind, name=document.name, version=document.version)

    @app.post(f"{PREFIX}/admin/retention", response_model=RetentionResult, tags=["staff"])
    def retention(body: RetentionRequest, principal: Admin) -> RetentionResult:
        return RetentionResult(destroyed=storage.apply_retention(body.days, principal.label))

    return BodyLimit(app, config.max_body_bytes)


def _outcome(outcome: Any) -> dict[str, Any]:
    return {
        "record_id": outcome.record_id,
        "sha256": outcome.sha256,
        "outcome": outcome.outcome,
        "reason": outcome.reason,
    }
