"""The same child again, on a real server: the organisation's match secret travels in the
installer's provisioning file only (docs/privacy-matching.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.signed import Provisioning
from tests.integration.server_support import open_storage


@pytest.fixture(autouse=True)
def light_kdf() -> Iterator[None]:
    crypto.permit_test_parameters(True)
    yield
    crypto.permit_test_parameters(False)


def server(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = server_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_match_secret_reaches_the_laptop_never_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "server.sqlite3")
    keys = tmp_path / "org-keys"
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery staple\n")
    pf = ["--passphrase-file", str(passfile)]
    assert server(capsys, "init-org", "--db", db, "--out", str(keys), *pf)[0] == 0
    storage = open_storage(db)  # the server's receipt key, which provisioning names
    secret_file = tmp_path / "match-secret.json"
    code, out, err = server(capsys, "match-secret", "--out", str(secret_file), *pf, "--json")
    assert code == 0, err
    assert json.loads(out) == {"out": str(secret_file)}
    assert b"ciphertext" in secret_file.read_bytes()  # protected like a private key
    code, _, err = server(capsys, "match-secret", "--out", str(secret_file), *pf)
    assert code == 1
    assert "Traceback" not in err

    def provision(name: str, *extra: str) -> bytes:
        out_file = tmp_path / name
        code, _, err = server(
            capsys,
            "provision-file",
            "--db",
            db,
            "--out",
            str(out_file),
            "--key",
            str(keys / "signing-private.json"),
            "--server-url",
            "https://sync.example.org",
            "--site",
            "s1",
            *extra,
            *pf,
        )
        assert code == 0, err
        return out_file.read_bytes()

    installer = provision("installer.fsp", "--match-secret", str(secret_file))
    provisioning = Provisioning.verify_file(installer, None)
    assert provisioning.match_secret is not None
    assert len(provisioning.match_secret) == 32
    assert provisioning.match_secret not in repr(provisioning).encode()
    update = provision("update.fsp")
    assert Provisioning.verify_file(update, None).match_secret is None

    try:
        with pytest.raises(KnownError) as refused:
            storage.publish(installer, "admin")
        assert refused.value.code == "server-provisioning-secret"
        assert storage.publish(update, "admin").kind == "provisioning"
        assert all(b"match_secret" not in doc for _kind, doc in _documents(storage))
    finally:
        storage.close()


def _documents(storage: object) -> list[tuple[str, bytes]]:
    from fieldscreen.sync.server.db import tables as t

    engine = storage.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [
            (str(r.kind), bytes(r.document))
            for r in conn.execute(t.documents.select())  # every published document
        ]
