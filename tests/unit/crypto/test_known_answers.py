"""Known-answer tests: each wrapped primitive reproduces its RFC's published vectors.

* RFC 9106 section 5.3 (Argon2id), RFC 3394 section 4.6 (AES key wrap, 256-bit KEK and key),
  RFC 8032 section 7.1 tests 1-3 (Ed25519), RFC 9180 appendix A.1.1 (HPKE base mode).

HPKE: the library's single-shot API has no associated data and draws its own ephemeral key, so
A.1.1 is checked in two steps. A small reference key schedule written here from the RFC text
(stdlib HMAC plus raw X25519 and AES-GCM) must reproduce every published value (enc, shared
secret, key, base nonce, first ciphertext); then the library is made to open a ciphertext built
by that reference with the RFC's own keys, and the reference opens what the library seals.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fieldscreen import crypto
from fieldscreen.crypto.kdf import raw_argon2id

H = bytes.fromhex


def test_rfc9106_argon2id_vector() -> None:
    params = crypto.KdfParams(memory_kib=32, iterations=3, lanes=4, salt=b"\x02" * 16)
    tag = raw_argon2id(b"\x01" * 32, params, secret=b"\x03" * 8, ad=b"\x04" * 12)
    assert tag == H("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")


def test_rfc3394_key_wrap_vector() -> None:
    kek = H("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
    key = H("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
    expected = H("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")
    assert crypto.wrap_key(kek, key) == expected
    assert crypto.unwrap_key(kek, expected) == key


RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
        "39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
        "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67"
        "f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_rfc8032_ed25519_vectors(secret: str, public: str, message: str, signature: str) -> None:
    assert crypto.public_from_private(H(secret)) == H(public)
    assert crypto.sign(H(secret), H(message)) == H(signature)
    assert crypto.verify(H(public), H(message), H(signature))
    forged = bytearray(H(signature))
    forged[0] ^= 1
    assert not crypto.verify(H(public), H(message), bytes(forged))


# ---------------------------------------------------------------- RFC 9180 A.1.1
A1 = {
    "info": H("4f6465206f6e2061204772656369616e2055726e"),
    "skEm": H("52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736"),
    "pkEm": H("37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"),
    "skRm": H("4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8"),
    "pkRm": H("3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"),
    "shared_secret": H("fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc"),
    "key": H("4531685d41d65f03dc48f6b8302c05b0"),
    "base_nonce": H("56d890e5accaaf011cff4b7d"),
    "pt": H("4265617574792069732074727574682c20747275746820626561757479"),
    "aad0": H("436f756e742d30"),
    "ct0": H(
        "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a"
    ),
}
KEM_SUITE = b"KEM" + struct.pack(">H", 0x0020)


def _hpke_suite(aead_id: int) -> bytes:
    return b"HPKE" + struct.pack(">HHH", 0x0020, 0x0001, aead_id)


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite + label + info, length)


def _reference_schedule(
    sk_e: bytes, pk_r: bytes, info: bytes, aead_id: int, nk: int
) -> tuple[bytes, bytes, bytes, bytes]:
    """RFC 9180 Encap + KeySchedule (mode_base): enc, shared_secret, key, base_nonce."""
    ephemeral = x25519.X25519PrivateKey.from_private_bytes(sk_e)
    enc = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    dh = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(pk_r))
    eae_prk = _labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    shared = _labeled_expand(KEM_SUITE, eae_prk, b"shared_secret", enc + pk_r, 32)
    suite = _hpke_suite(aead_id)
    psk_id_hash = _labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(suite, shared, b"secret", b"")
    key = _labeled_expand(suite, secret, b"key", context, nk)
    base_nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    return enc, shared, key, base_nonce


def test_rfc9180_a1_reference_schedule_reproduces_the_vector() -> None:
    enc, shared, key, nonce = _reference_schedule(A1["skEm"], A1["pkRm"], A1["info"], 1, 16)
    assert enc == A1["pkEm"]
    assert shared == A1["shared_secret"]
    assert key == A1["key"]
    assert nonce == A1["base_nonce"]
    assert AESGCM(key).encrypt(nonce, A1["pt"], A1["aad0"]) == A1["ct0"]


def test_rfc9180_a1_library_opens_with_the_vector_keys() -> None:
    """The library, given the RFC's recipient key and enc, derives the RFC's key and nonce."""
    _, _, key, nonce = _reference_schedule(A1["skEm"], A1["pkRm"], A1["info"], 1, 16)
    ciphertext = AESGCM(key).encrypt(nonce, A1["pt"], b"")  # single-shot: empty aad
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
    recipient = x25519.X25519PrivateKey.from_private_bytes(A1["skRm"])
    assert suite.decrypt(A1["pkEm"] + ciphertext, recipient, info=A1["info"]) == A1["pt"]


def test_rfc9180_our_sealing_interoperates_with_the_reference() -> None:
    """What :func:`crypto.seal` produces opens with the reference schedule (AES-256-GCM)."""
    private, public = crypto.generate_sealing_keypair()
    sealed = crypto.seal(public, b"payload", info=b"i", aad=b"a")
    assert sealed[0] == 1
    enc, body = sealed[1:33], sealed[33:]
    bound = b"FieldScreen-HPKE-v1" + struct.pack(">I", 1) + b"i" + struct.pack(">I", 1) + b"a"
    recipient = x25519.X25519PrivateKey.from_private_bytes(private)
    dh = recipient.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    eae_prk = _labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    shared = _labeled_expand(KEM_SUITE, eae_prk, b"shared_secret", enc + public, 32)
    suite = _hpke_suite(0x0002)
    context = (
        b"\x00"
        + _labeled_extract(suite, b"", b"psk_id_hash", b"")
        + _labeled_extract(suite, b"", b"info_hash", bound)
    )
    secret = _labeled_extract(suite, shared, b"secret", b"")
    key = _labeled_expand(suite, secret, b"key", context, 32)
    nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    assert AESGCM(key).decrypt(nonce, body, b"") == b"payload"


def test_rfc5869_hkdf_and_rfc4231_hmac_vectors() -> None:
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    # RFC 5869 A.1 through the same primitive our derive_subkey uses (salt and 22-byte IKM).
    okm = HKDF(SHA256(), 42, H("000102030405060708090a0b0c"), H("f0f1f2f3f4f5f6f7f8f9")).derive(
        b"\x0b" * 22
    )
    assert okm == H(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    assert crypto.hmac_sha256(b"\x0b" * 20, b"Hi There") == H(
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    master = bytes(range(32))
    assert crypto.derive_subkey(master, "audit") == HKDF(SHA256(), 32, None, b"audit").derive(
        master
    )
    assert crypto.derive_subkey(master, "audit") != crypto.derive_subkey(master, "meta")
