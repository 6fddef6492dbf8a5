"""A media question's file is kept only encrypted: in the record's draft and finalised copy, in
the sealed envelope, and after a key rotation -- never in the clear in the vault's files."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from fieldscreen import crypto
from fieldscreen.forms import Session
from fieldscreen.forms.attachments import Attachment
from fieldscreen.vault import Vault
from tests.unit.forms.helpers import NOW, form
from tests.unit.vault.conftest import PASS

MD = """
| survey |
|        | type  | name | label                 |
|        | image | doc  | Photo of the document |
"""


def _forms(canary: bytes) -> tuple[Session, bytes]:
    session = Session.start(form(MD), "en", clock=lambda: NOW)
    data = b"\xff\xd8\xff\xe0" + canary + os.urandom(64) + canary
    session.set_answer("doc", Attachment("consent.jpg", data))
    return session, data


def _forms_of(canary: bytes) -> list[bytes]:
    """The canary as it could show in a file: raw, hex, and base64 at each alignment."""
    out = [canary, canary.hex().encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + canary)
        out.append(encoded[4 : len(encoded) - 4])
    return out


def _hits(folder: Path, canary: bytes) -> list[str]:
    forms = _forms_of(canary)
    return [
        str(p) for p in folder.rglob("*") if p.is_file() and any(f in p.read_bytes() for f in forms)
    ]


def test_an_attached_file_is_never_in_the_clear_and_survives_rotation(
    vault: Vault, vault_dir: Path, org: dict[str, bytes]
) -> None:
    canary = b"CANARY-" + os.urandom(8).hex().encode()
    session, data = _forms(canary)
    state = {"started": NOW.isoformat(), "forms": {session.form.id: session.to_state()}}
    rid = vault.new_draft(session.form.id, session.form.version, state)
    for _ in range(3):
        vault.save_draft(rid, state)
    assert _hits(vault_dir, canary) == []
    vault.finalise(rid, record={"state": state}, case_card={"alias": "A"})
    [item] = vault.outbox_page()
    info = crypto.record_sealing_info(
        item.record_id, item.form_id, item.form_version, item.device_id
    )
    assert item.sealed is not None
    payload = json.loads(
        crypto.unpad(crypto.open_sealed(org["sealing_private"], item.sealed, info=info, aad=b""))
    )
    sealed_state = payload["content"]["state"]["forms"][session.form.id]
    assert Session.restore(session.form, sealed_state).attachments == {session.value("doc"): data}
    vault.rotate_keys(admin_passphrase=PASS)
    kept = vault.load_record(rid)["state"]["forms"][session.form.id]
    assert Session.restore(session.form, kept).attachments[session.value("doc")] == data
    assert vault.integrity_check().ok
    hits = _hits(vault_dir, canary)
    print(f"\ncanary of an attached file in the vault's files: {len(hits)} hits")
    assert hits == []
    # control: the scan finds the canary in the state's own (base64) form
    control = vault_dir.parent / "plain.json"
    control.write_text(json.dumps(state))
    assert _hits(vault_dir.parent, canary) == [str(control)]
