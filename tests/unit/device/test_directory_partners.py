"""The service directory's partner organisations (docs/service-directory.md, ``partners[]``):
an older directory without them still loads, a partner without keys loads but cannot receive,
and malformed partners refuse the whole directory."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from fieldscreen.directory import ServiceDirectory
from fieldscreen.errors import KnownError

KEY = base64.b64encode(bytes(range(32))).decode()


def _doc(partners: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "fieldscreen-service-directory",
        "format_version": 1,
        "directory_id": "d",
        "version": "2026-12-04",
        "site": {"id": "tij1"},
        "services": [],
    }
    if partners is not None:
        doc["partners"] = partners
    return doc


def test_an_older_directory_has_no_partners() -> None:
    assert ServiceDirectory.from_content(_doc(), "file").partners == ()


def test_partners_with_and_without_keys() -> None:
    directory = ServiceDirectory.from_content(
        _doc(
            [
                {
                    "id": "dif-hn",
                    "name": {"es": "DINAF"},
                    "recipient": "cp_authority",
                    "language": "es",
                    "country": "HN",
                    "keys": {"x25519": KEY, "ed25519": KEY},
                },
                {"id": "bare", "name": {"en": "Bare"}, "recipient": "legal"},
            ]
        ),
        "file",
    )
    full, bare = directory.partner("dif-hn"), directory.partner("bare")
    assert full is not None
    assert full.can_receive
    assert full.language == "es"
    assert bare is not None
    assert not bare.can_receive
    assert bare.language == "en"
    assert directory.partner("nobody") is None


@pytest.mark.parametrize(
    "partner",
    [
        {"id": "p", "name": {"en": "P"}, "recipient": "legal", "keys": {"x25519": "!!"}},
        {"id": "p", "name": {"en": "P"}, "recipient": "legal", "keys": {"x25519": KEY[:-8]}},
        {"id": "p", "name": {"en": "P"}, "recipient": "legal", "keys": {"rsa": KEY}},
        {"id": "p", "name": {"en": "P"}, "recipient": "Legal Aid"},
        {"id": "p", "name": {"en": "P"}, "recipient": "legal", "language": "fr"},
        {"id": "P!", "name": {"en": "P"}, "recipient": "legal"},
        {"id": "p", "recipient": "legal"},
        "not an object",
    ],
)
def test_a_malformed_partner_refuses_the_directory(partner: Any) -> None:
    with pytest.raises(KnownError) as refused:
        ServiceDirectory.from_content(_doc([partner]), "file")
    assert refused.value.code == "directory-invalid"


def test_two_partners_with_one_id_refuse_the_directory() -> None:
    twice = [{"id": "p", "name": {"en": "P"}, "recipient": "legal"}] * 2
    with pytest.raises(KnownError):
        ServiceDirectory.from_content(_doc(twice), "file")
    with pytest.raises(KnownError):
        ServiceDirectory.from_content(_doc({"p": 1}), "file")
