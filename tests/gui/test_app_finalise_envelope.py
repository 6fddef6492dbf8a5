"""A screening finalised through the app's vault backend leaves an envelope the server accepts:
signed over exactly the bytes the server verifies, sealed to the organisation, and carrying the
case's non-identifying aggregate record (and none when the child declined statistics)."""

from __future__ import annotations

from datetime import date

import pytest

from fieldscreen import crypto
from fieldscreen.device import VaultDeviceStore, apply_provisioning
from fieldscreen.forms.aggregate import case_aggregate
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.session import Session
from fieldscreen.paths import Paths
from fieldscreen.reports.aggregates import parse_aggregate
from fieldscreen.settings import Settings
from fieldscreen.sync.envelope import Envelope, open_envelope, verify_envelope
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.ui.backends import VaultBackend

PASS = "correct horse battery staple"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def provision(backend: VaultBackend, settings: Settings) -> bytes:
    """Apply a signed provisioning file; return the organisation's sealing private key."""
    sealing_private, sealing_public = crypto.generate_sealing_keypair()
    signing_private, signing_public = crypto.generate_signing_keypair()
    _, receipt_public = crypto.generate_signing_keypair()
    content = Provisioning(
        organisation="Red de Albergues",
        server_url="https://sync.example.org",
        sealing_public_key=sealing_public,
        signing_public_key=signing_public,
        receipt_public_key=receipt_public,
        sites=(Site("tij1", "Tijuana 1", "MX"),),
        language="es",
    ).to_content()
    data = sign_document(
        "provisioning", "provisioning", "1", content, signing_private, signing_public
    ).to_bytes()
    apply_provisioning(backend.vault, settings, data)
    return sealing_private


@pytest.mark.parametrize("statistics", ["yes", "no"])
def test_an_app_finalised_screening_verifies_opens_and_carries_its_aggregate(
    paths: Paths, statistics: str
) -> None:
    light = crypto.KdfParams.for_tests()
    settings = Settings.load(paths.settings_file)
    backend = VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light)
    backend.create_user("admin1", "admin", PASS)
    backend.unlock("admin1", PASS)
    org_private = provision(backend, settings)

    forms = builtin_forms()
    context = {"site": "tij1", "jurisdiction": "MX", "role": "specialist"}
    intake = Session.start(forms["fs_intake"], "es", context, {})
    # A declined statistics consent gives no aggregate record (case_aggregate's own tests).
    aggregate = (
        case_aggregate([intake], site="tij1", day=date(2026, 11, 27))
        if statistics == "yes"
        else None
    )

    rid = backend.new_draft("screening", "1", {"forms": {}})
    backend.finalise(rid, {"state": {"note": "sealed"}}, {"alias": "Ana"}, aggregate)

    store = VaultDeviceStore(backend.vault, settings)
    (item,) = store.pending_page(0, 10)
    envelope = Envelope.from_bytes(item.data)
    verify_envelope(envelope, backend.vault.device_public_key)  # raises unless server-valid
    assert open_envelope(envelope, org_private)
    if statistics == "no":
        assert not envelope.aggregate
    else:
        assert aggregate is not None
        assert parse_aggregate(envelope.aggregate).site == "tij1"
