"""The HTTP API, version 1 (``/api/v1``). Its OpenAPI document (``/api/v1/openapi.json``) is
the machine-readable protocol description; ``docs/protocol.md`` is the prose one.

:func:`create_app` assembles the routers of ``fieldscreen/sync/server/routes/`` (one per area),
whose routes name who may call them as dependencies (``routes/auth.py``), and answers every
failure with a small problem object ``{"code", "status"}`` whose ``code`` is a catalogue code
where one exists. A device whose status is ``revoked`` or ``wipe`` gets 403 on every route with
its status in the body and the ``FS-Device-Status`` header, before anything else happens, so
that it wipes first.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fieldscreen import PROTOCOL_VERSION, __version__
from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.gate import Gate
from fieldscreen.sync.server.limits import BodyLimit, ServerConfig
from fieldscreen.sync.server.routes import ROUTERS
from fieldscreen.sync.server.routes.auth import ServerContext
from fieldscreen.sync.server.routes.wire import PREFIX, Problem
from fieldscreen.sync.server.storage import Storage

__all__ = ["ServerConfig", "create_app"]


def create_app(
    storage: Storage,
    config: ServerConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> BodyLimit:
    """The ASGI application over ``storage`` (wrapped in the body-size limit).

    Rate limits and request nonces live in the database (:class:`Gate`), so they hold for
    every process serving the same database. ``clock`` is the server's time (tests skew it).
    """
    if not storage.repos.keys.unlocked:  # every answer to a device carries a signed receipt
        raise ServerError("server-locked")
    config = config or ServerConfig()
    if os.environ.get("FIELDSCREEN_SERVER_TIMING") == "1":
        config = dataclasses.replace(config, server_timing=True)
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
    gate = Gate(storage.light_engine, clock, reader=storage.database.reader)
    app.state.server = ServerContext(storage, config, gate, clock)
    _answer_failures_as_problems(app)
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX)
    return BodyLimit(app, config.max_body_bytes)


def _answer_failures_as_problems(app: FastAPI) -> None:
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
