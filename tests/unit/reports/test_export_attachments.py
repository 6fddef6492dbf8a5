"""The central export writes a media question's file beside its record, in identifiable
exports only; a device that sends a hostile attachment (a path out of the export folder, a
file its answers do not name, more than the limits) gets no file written."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.forms import Session
from fieldscreen.forms.attachments import MAX_TOTAL_BYTES, Attachment
from fieldscreen.reports.export import (
    ExportProblems,
    attachment_files,
    build_tables,
    open_records,
    parse_profile,
)
from fieldscreen.reports.export_files import pack, unpack, write_files
from fieldscreen.sync.envelope import Envelope, build_envelope
from fieldscreen.vault import canonical_json
from tests.unit.forms.helpers import NOW, form

MD = """
| survey |
|        | type  | name | label                 |
|        | image | doc  | Photo of the document |
| settings |
|          | form_id | version |
|          | media   | 1       |
"""


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def _envelope(state: dict[str, Any], device: str, keys: dict[str, bytes]) -> Envelope:
    record_id = uuid.uuid4().hex
    payload = canonical_json(
        {
            "format": 1,
            "kind": "screening",
            "record_id": record_id,
            "form_id": "media",
            "form_version": "1",
            "device_id": device,
            "day": "2026-11-20",
            "content": {"state": {"started": NOW.isoformat(), "forms": {"media": state}}},
        }
    )
    return build_envelope(
        record_id=record_id,
        form_id="media",
        form_version="1",
        device_id=device,
        seq=1,
        created="2026-11-20",
        payload_plaintext=payload,
        org_sealing_public_key=keys["org_public"],
        device_signing_private_key=keys[device],
    )


def test_attachments_are_exported_beside_the_record_and_hostile_ones_never(
    tmp_path: Path,
) -> None:
    media = form(MD)
    org_private, org_public = crypto.generate_sealing_keypair()
    keys: dict[str, bytes] = {"org_public": org_public}
    public: dict[str, bytes] = {}
    for device in ("dev-laptop", "dev-other"):
        keys[device], public[device] = crypto.generate_signing_keypair()
    session = Session.start(media, "en", clock=lambda: NOW)
    photo = b"\xff\xd8 CANARY passport page"
    session.set_answer("doc", Attachment("passport.jpg", photo))
    good = session.to_state()
    name = session.value("doc")
    hostile = [
        {**good, "attachments": {"../../evil.sh": base64.b64encode(b"x").decode()}},
        {
            **good,
            "answers": [["doc", [], "../../evil.sh"]],
            "attachments": {"../../evil.sh": "eA=="},
        },
        {**good, "answers": [["doc", [], "/etc/cron.d/x"]], "attachments": {}},
        {**good, "attachments": {name: "AAAA" * (MAX_TOTAL_BYTES // 3 + 2)}},
        {**good, "attachments": {name: base64.b64encode(photo).decode(), "extra.sh": "eA=="}},
    ]
    envelopes = [_envelope(good, "dev-laptop", keys)]
    envelopes += [_envelope(s, "dev-other", keys) for s in hostile]
    problems = ExportProblems()
    records = list(open_records(envelopes, public.get, org_private, {"media": media}, problems))
    full = attachment_files(records, parse_profile("full"))
    mine = f"attachments/{envelopes[0].record_id}-dev-laptop/media/{name}"
    assert full[mine] == photo
    stray = [p for p in full if p != mine and not p.endswith(f"/media/{name}")]
    escaped = [p for p in full if ".." in p or p.startswith("/") or "evil" in p or "extra" in p]
    print(
        f"\nhostile attachments: {len(hostile)}; refused as unreadable "
        f"{len(problems.unreadable)}, files outside their record {len(escaped)}, "
        f"unnamed files exported {len(stray)}"
    )
    assert escaped == []
    assert stray == []
    assert len(problems.unreadable) == 4  # the fifth is read, its unnamed extra file dropped
    tables = build_tables(records, {"media": media}, parse_profile("full"))
    assert name in [row[-1] for row in tables["media"].rows]  # the answer names the file
    assert attachment_files(records, parse_profile("deidentified")) == {}
    planted = {**full, "attachments/../../evil.sh": b"x", "attachments/a/b/c/d": b"x"}
    packed = pack(planted, b"export pass", params=crypto.KdfParams.for_tests())
    opened = unpack(packed, b"export pass")
    assert opened == full  # a planted path in the archive is not unpacked
    write_files(tmp_path / "open", opened)
    assert (tmp_path / "open" / mine).read_bytes() == photo
    assert [p.name for p in tmp_path.rglob("evil*")] == []
