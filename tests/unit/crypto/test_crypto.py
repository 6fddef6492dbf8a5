"""Behaviour of the crypto API: round trips, one failure for every tamper, the KDF floor."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from fieldscreen import crypto
from fieldscreen.errors import CATALOGUE


@pytest.fixture
def light_kdf() -> Iterator[None]:
    crypto.permit_test_parameters(True)
    yield
    crypto.permit_test_parameters(False)


def _mutations(blob: bytes) -> Iterator[bytes]:
    for i in range(len(blob)):
        for bit in (0, 7):
            mutated = bytearray(blob)
            mutated[i] ^= 1 << bit
            yield bytes(mutated)
    yield blob[:-1]
    yield blob[:12]
    yield b""
    yield blob + b"\0"


def test_aead_round_trip_and_every_single_bit_flip_fails_the_same_way() -> None:
    key = crypto.random_bytes(32)
    blob = crypto.encrypt(key, b"answer", b"drafts/r1/state/v3")
    assert crypto.decrypt(key, blob, b"drafts/r1/state/v3") == b"answer"
    messages: set[str] = set()
    accepted = 0
    for mutated in _mutations(blob):
        try:
            crypto.decrypt(key, mutated, b"drafts/r1/state/v3")
            accepted += 1
        except crypto.DecryptError as error:
            messages.add(str(error))
    for aad in (b"drafts/r2/state/v3", b"drafts/r1/state/v2", b""):
        with pytest.raises(crypto.DecryptError) as caught:
            crypto.decrypt(key, blob, aad)
        messages.add(str(caught.value))
    with pytest.raises(crypto.DecryptError):
        crypto.decrypt(crypto.random_bytes(32), blob, b"drafts/r1/state/v3")
    assert accepted == 0
    assert len(messages) == 1


def test_nonces_are_fresh() -> None:
    key = crypto.random_bytes(32)
    nonces = {crypto.encrypt(key, b"x", b"")[:12] for _ in range(1000)}
    assert len(nonces) == 1000


def test_wrong_key_sizes_are_refused() -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.encrypt(b"short", b"x", b"")
    with pytest.raises(crypto.CryptoError):
        crypto.wrap_key(b"\0" * 16, b"\0" * 32)


def test_key_wrap_rejects_a_wrong_kek_and_tamper() -> None:
    kek, key = crypto.random_bytes(32), crypto.random_bytes(32)
    wrapped = crypto.wrap_key(kek, key)
    assert crypto.unwrap_key(kek, wrapped) == key
    with pytest.raises(crypto.DecryptError):
        crypto.unwrap_key(crypto.random_bytes(32), wrapped)
    assert all(_fails_unwrap(kek, m) for m in _mutations(wrapped))


def _fails_unwrap(kek: bytes, wrapped: bytes) -> bool:
    try:
        crypto.unwrap_key(kek, wrapped)
    except crypto.DecryptError:
        return True
    return False


def test_sealing_binds_info_and_aad_and_only_the_private_key_opens() -> None:
    private, public = crypto.generate_sealing_keypair()
    assert len(private) == 32
    assert len(public) == 32
    sealed = crypto.seal(public, b"record", info=b"rec-1|form@3|dev-9", aad=b"hdr")
    assert crypto.open_sealed(private, sealed, info=b"rec-1|form@3|dev-9", aad=b"hdr") == b"record"
    other_private, _ = crypto.generate_sealing_keypair()
    failures = 0
    attempts = [
        (other_private, sealed, b"rec-1|form@3|dev-9", b"hdr"),
        (private, sealed, b"rec-2|form@3|dev-9", b"hdr"),
        (private, sealed, b"rec-1|form@3|dev-9", b"hdx"),
        # the length prefix keeps (info, aad) pairs apart even when their concatenation matches
        (private, sealed, b"rec-1|form@3|dev-9h", b"dr"),
        *((private, m, b"rec-1|form@3|dev-9", b"hdr") for m in _mutations(sealed)),
    ]
    for key, blob, info, aad in attempts:
        try:
            crypto.open_sealed(key, blob, info=info, aad=aad)
        except crypto.DecryptError:
            failures += 1
    assert failures == len(attempts)
    assert crypto.seal(public, b"record", info=b"i", aad=b"") != crypto.seal(
        public, b"record", info=b"i", aad=b""
    )


def test_signatures_and_fingerprints() -> None:
    private, public = crypto.generate_signing_keypair()
    signature = crypto.sign(private, b"envelope")
    assert crypto.verify(public, b"envelope", signature)
    assert not crypto.verify(public, b"envelopE", signature)
    assert not crypto.verify(public, b"envelope", signature[:-1])
    assert not crypto.verify(b"not a key", b"envelope", signature)
    assert crypto.key_id(public) == crypto.key_id(public)
    assert len(crypto.key_id(public)) == 16
    assert crypto.key_id(public) != crypto.key_id(crypto.generate_signing_keypair()[1])


def test_argon2id_is_available_and_the_floor_holds() -> None:
    assert crypto.argon2id_available()
    default = crypto.KdfParams.default()
    assert (default.memory_kib, default.iterations, default.lanes) == (262144, 3, 4)
    assert not default.below_floor
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.derive_key(b"pass", crypto.KdfParams.for_tests())
    assert caught.value.code == "crypto-kdf-too-weak"
    weak = crypto.KdfParams(memory_kib=32 * 1024, iterations=3, lanes=4, salt=b"s" * 16)
    assert weak.below_floor


def test_floor_parameters_derive(light_kdf: None) -> None:
    """The floor itself (64 MiB, t=3) is accepted; the key depends on salt and passphrase."""
    crypto.permit_test_parameters(False)
    floor = crypto.KdfParams(memory_kib=64 * 1024, iterations=3, lanes=4, salt=b"s" * 16)
    key = crypto.derive_key(b"pass", floor)
    assert len(key) == 32
    assert crypto.derive_key(b"pass", floor) == key
    assert crypto.derive_key(b"pasS", floor) != key


def test_kdf_params_round_trip_through_json(light_kdf: None) -> None:
    params = crypto.KdfParams.for_tests()
    restored = crypto.KdfParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert restored == params
    for broken in (
        {},
        {**params.to_dict(), "alg": "scrypt"},
        {**params.to_dict(), "lanes": 0},
        {**params.to_dict(), "memory_kib": 2**40},
        {**params.to_dict(), "iterations": 10**6},
    ):
        with pytest.raises(crypto.CryptoError):
            crypto.KdfParams.from_dict(broken)


def test_argon2id_unavailable_is_refused_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldscreen.crypto import kdf

    monkeypatch.setattr(kdf, "argon2id_available", lambda: False)
    with pytest.raises(crypto.CryptoError) as caught:
        kdf.derive_key(b"pass", crypto.KdfParams.default())
    assert caught.value.code == "crypto-kdf-unavailable"


def test_protected_private_key_round_trip(light_kdf: None) -> None:
    private, _ = crypto.generate_sealing_keypair()
    blob = crypto.protect_private_key(private, b"team pass", params=crypto.KdfParams.for_tests())
    blob = json.loads(json.dumps(blob))
    assert private.hex() not in json.dumps(blob)
    assert crypto.unprotect_private_key(blob, b"team pass") == private
    with pytest.raises(crypto.DecryptError):
        crypto.unprotect_private_key(blob, b"wrong")
    edited = {**blob, "kdf": {**blob["kdf"], "iterations": 2}}
    with pytest.raises(crypto.DecryptError):
        crypto.unprotect_private_key(edited, b"team pass")
    with pytest.raises(crypto.CryptoError):
        crypto.unprotect_private_key({"format": "x"}, b"team pass")


def test_every_crypto_error_code_is_in_the_catalogue() -> None:
    codes = {
        "crypto-decrypt-failed",
        "crypto-bad-key",
        "crypto-kdf-unavailable",
        "crypto-kdf-too-weak",
        "crypto-kdf-params-invalid",
        "crypto-protected-key-invalid",
    }
    assert codes <= set(CATALOGUE)


def test_record_sealing_info_is_unambiguous() -> None:
    a = crypto.record_sealing_info("r1", "form", "3", "dev")
    assert a == crypto.record_sealing_info("r1", "form", "3", "dev")
    assert a != crypto.record_sealing_info("r1", "form3", "", "dev")
    assert a != crypto.record_sealing_info("r1", "form", "3", "dev2")
