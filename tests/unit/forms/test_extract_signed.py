"""extract-signed(signed, public key): the message of an Ed25519-signed text, as ODK Collect
has it (JavaRosa's ExtractSignedTest: the signed text is the base64 of the 64-byte signature
followed by the message, the key the base64 of the 32-byte public key; anything else is
``''``), with RFC 8032's test vectors as fixed examples."""

from __future__ import annotations

import base64
import uuid

import pytest

from fieldscreen.crypto.signing import generate_signing_keypair, sign
from fieldscreen.forms import FormError, Session
from fieldscreen.forms.functions import extract_signed
from tests.unit.forms.helpers import NOW, form


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _signed(message: bytes, private: bytes) -> str:
    return _b64(sign(private, message) + message)


#: RFC 8032, section 7.1, TEST 2 and TEST 3: (public key, message, signature), in hex.
RFC8032 = [
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("key", "message", "signature"), RFC8032)
def test_the_rfc_8032_vectors_give_their_message_and_a_changed_byte_gives_nothing(
    key: str, message: str, signature: str
) -> None:
    public, text, sig = bytes.fromhex(key), bytes.fromhex(message), bytes.fromhex(signature)
    assert extract_signed(_b64(sig + text), _b64(public)) == text.decode("utf-8", "replace")
    tampered = bytes([sig[0] ^ 1]) + sig[1:]
    assert extract_signed(_b64(tampered + text), _b64(public)) == ""
    assert extract_signed(_b64(sig + text + b"!"), _b64(public)) == ""


def test_javarosa_s_cases() -> None:
    private, public = generate_signing_keypair()
    _, other = generate_signing_keypair()
    signed = _signed(b"real genuine data", private)
    # whenSignatureIsValid_returnsNonSignatureContents
    assert extract_signed(signed, _b64(public)) == "real genuine data"
    # whenSignatureIsNotValid_returnsEmptyString (signed with another key)
    assert extract_signed(signed, _b64(other)) == ""
    # whenContentIsTooShort_returnsEmptyString
    assert extract_signed("blah", _b64(public)) == ""
    # whenNonSignatureDataIsEmpty_andSignatureIsValid_returnsEmptyString
    assert extract_signed(_signed(b"", private), _b64(public)) == ""
    # whenPublicKeyIsTooShort_returnsEmptyString
    assert extract_signed(_signed(b"", private), _b64(b"blah")) == ""
    # whenPublicKeyIsInvalid_returnsEmptyString (36 bytes of a UUID's text)
    assert extract_signed(signed, _b64(str(uuid.uuid4()).encode())) == ""
    # and what is not base64 at all, or not text
    assert extract_signed("not base64 ***", _b64(public)) == ""
    assert extract_signed(signed, "***") == ""
    assert extract_signed(1.0, _b64(public)) == ""


def test_the_check_is_the_verifier_handed_in() -> None:
    private, public = generate_signing_keypair()
    signed = _signed(b"hello", private)
    seen: list[tuple[bytes, bytes, bytes]] = []

    def refuse(key: bytes, message: bytes, signature: bytes) -> bool:
        seen.append((key, message, signature))
        return False

    assert extract_signed(signed, _b64(public), verify=refuse) == ""
    assert seen == [(public, b"hello", base64.b64decode(signed)[:64])]
    assert extract_signed(signed, _b64(public), verify=lambda *_: True) == "hello"


def test_a_form_reads_a_signed_code_and_shows_its_message_only_when_it_verifies() -> None:
    private, public = generate_signing_keypair()
    md = f"""
    | survey |
    |        | type      | name  | label     | calculation                        | relevant |
    |        | text      | code  | Code      |                                    |          |
    |        | calculate | card  |           | extract-signed(${{code}}, '{_b64(public)}') |  |
    |        | note      | ok    | Card: ${{card}} |                              | ${{card}} != '' |
    """
    session = Session.start(form(md), "en", clock=lambda: NOW)
    session.set_answer("code", _signed("Tarjeta 7 — Tecún Umán".encode(), private))
    assert session.value("card") == "Tarjeta 7 — Tecún Umán"
    forger, _ = generate_signing_keypair()
    session.set_answer("code", _signed(b"forged", forger))
    assert session.value("card") in ("", None)


def test_extract_signed_takes_two_arguments_or_the_form_is_refused_at_its_cell() -> None:
    md = """
    | survey |
    |        | type      | name | label | calculation          |
    |        | text      | t    | T     |                      |
    |        | calculate | c    |       | extract-signed(${t}) |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert (caught.value.row, caught.value.column) == (3, "calculation")
