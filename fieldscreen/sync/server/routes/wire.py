"""The wire models of the API: what each route takes and answers, as its OpenAPI document
describes it (``docs/protocol.md`` is the prose). Strict models refuse unknown fields."""

# No "from __future__ import annotations": pydantic and FastAPI read these annotations at run
# time.

import re
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from fieldscreen import PROTOCOL_VERSION

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
