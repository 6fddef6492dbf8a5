"""Schema-driven fuzzing of the API from its own OpenAPI document: server errors (5xx) 0.

For every operation the document lists, hypothesis draws path parameters, query parameters and
bodies: some from the operation's schema (so they get past validation and reach the storage
code), some arbitrary JSON, some raw bytes; each is sent with a device's, an admin's or no
credential to the real server on loopback. A device's requests are signed with its key, as
the protocol requires, so that they get past authentication.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice

EXAMPLES = 150 if os.environ.get("FIELDSCREEN_FULL") == "1" else 15
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def from_schema(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    """A strategy for values of a JSON schema (the subset FastAPI emits), with some noise."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return from_schema(spec["components"]["schemas"][name], spec, depth)
    if depth > 4:
        return JSON
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(s, spec, depth + 1) for s in schema[key]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        if not props:
            return st.dictionaries(st.text(max_size=8), JSON, max_size=4)
        return st.fixed_dictionaries(
            {k: from_schema(v, spec, depth + 1) for k, v in props.items() if k in required},
            optional={
                k: from_schema(v, spec, depth + 1) for k, v in props.items() if k not in required
            },
        )
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), spec, depth + 1), max_size=3)
    if kind == "integer":
        return (
            st.integers(
                min_value=schema.get("minimum", -(2**63)), max_value=schema.get("maximum", 2**63)
            )
            | st.integers()
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True) | st.text(max_size=40)
        return st.text(max_size=int(schema.get("maxLength", 60)) or 60) | st.sampled_from(
            ["", "A" * 88, "../../etc/passwd", "\x00", "dev-1", "s1"]
        )
    return JSON


def run_fuzz(send: Callable[..., None], *strategies: Any) -> None:
    body, path_values, query, token = strategies

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(body=body, path_values=path_values, query=query, token=token)
    def one(
        body: Any, path_values: dict[str, str], query: dict[str, str], token: str | None
    ) -> None:
        send(body, path_values, query, token)

    one()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]


def test_no_operation_answers_with_a_server_error(
    server: LiveServer,
    storage: Storage,
    new_device: Callable[..., SimDevice],
    capsys: pytest.CaptureFixture[str],
) -> None:
    device = new_device("s1")
    tokens = [
        None,
        device.token,
        storage.repos.credentials.create_credential("admin", [], "fuzz"),
        storage.repos.credentials.create_credential("coordinator", ["s1"], "fuzz"),
    ]
    device_token = device.token
    signer = DeviceSigner.from_private_key(device.device_id, device.signing_private)
    spec = httpx.get(server.url + "/api/v1/openapi.json", timeout=60).json()
    ops = operations(spec)
    assert len(ops) >= 16
    sent = 0
    errors: list[str] = []
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for method, path, op in ops:
            params = op.get("parameters", [])
            body_schema = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            body = (
                from_schema(body_schema, spec) | JSON | st.binary(max_size=200)
                if body_schema
                else st.none()
            )
            path_values = st.fixed_dictionaries(
                {
                    p["name"]: from_schema(p.get("schema", {}), spec)
                    .map(str)
                    .filter(lambda s: "/" not in s and s not in {".", ".."} and s.strip() != "")
                    | st.just(device.device_id)
                    for p in params
                    if p["in"] == "path"
                }
            )
            query_values = st.fixed_dictionaries(
                {},
                optional={
                    p["name"]: from_schema(p.get("schema", {}), spec).map(str)
                    for p in params
                    if p["in"] == "query"
                },
            )

            def send(  # noqa: PLR0917 -- one request, as hypothesis draws it
                body: Any,
                path_values: dict[str, str],
                query: dict[str, str],
                token: str | None,
                method: str = method,
                path: str = path,
            ) -> None:
                nonlocal sent
                concrete = path
                for name, value in path_values.items():
                    concrete = concrete.replace("{" + name + "}", quote(value, safe="") or "x")
                headers = {"authorization": f"Bearer {token}"} if token else {}
                content: bytes | None
                if isinstance(body, bytes):
                    content = body
                else:
                    content = json.dumps(body).encode() if body is not None else None
                if content is not None:
                    headers["content-type"] = "application/json"
                request = http.build_request(
                    method, concrete, params=query, content=content, headers=headers
                )
                if token == device_token:  # signed as the device signs, to reach the storage
                    request.headers.update(
                        signer.headers(
                            request.method, request.url.raw_path, request.content, time.time()
                        )
                    )
                response = http.send(request)
                sent += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    errors.append(f"{method} {concrete} -> {response.status_code}")

            run_fuzz(send, body, path_values, query_values, st.sampled_from(tokens))
    with capsys.disabled():
        print(
            f"\nAPI fuzzing: {len(ops)} operations, {sent} requests, 5xx {len(errors)}, "
            f"statuses {dict(sorted(statuses.items()))}"
        )
    assert errors == []
