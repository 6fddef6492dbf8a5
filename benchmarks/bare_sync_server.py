"""The baseline of P6: an endpoint of the same framework (FastAPI on uvicorn) that reads the
request body and does no work. ``uvicorn benchmarks.bare_sync_server:app``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/api/v1/envelopes")
async def envelopes(request: Request) -> dict[str, Any]:
    await request.body()
    return {"results": [], "receipt": None}


@app.get("/api/v1/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
