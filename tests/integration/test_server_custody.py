"""Server key custody, played by someone else on the server machine: the database file and its
companions are the server user's alone (0600 in a 0700 folder), a looser file is tightened and
reported at start, and another user of the machine cannot read them."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server import db
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimOrg

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _files(path: Path) -> list[Path]:
    return [p for p in (path, *(Path(f"{path}{s}") for s in db.SQLITE_COMPANIONS)) if p.exists()]


def _other_user_reads(path: Path) -> bool:
    """Whether the unprivileged user ``nobody`` can open ``path`` (run as root only)."""
    code = (
        "import os, sys\n"
        "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        "try:\n    open(sys.argv[1], 'rb').read(1)\nexcept PermissionError:\n    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], check=False, timeout=60)
    assert done.returncode in (0, 3), done
    return done.returncode == 0


def test_a_new_database_is_the_server_users_alone(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "server"
    path = folder / "server.sqlite3"
    old = os.umask(0o022)  # the usual umask: SQLite alone would make 0644 files
    try:
        storage = Storage.open(str(path))
        org = SimOrg()
        storage.set_org_keys(org.name, org.sealing_public, org.signing_public)
        storage.create_credential("admin", [], "x")
        files = _files(path)
        assert {p.name for p in files} >= {"server.sqlite3", "server.sqlite3-wal"}
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert _mode(folder) == 0o700
        assert storage.notices == []
        storage.close()
    finally:
        os.umask(old)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user of the machine may enter (as a server's data folder often is)."""
    folder = Path(tempfile.mkdtemp(prefix="fieldscreen-custody-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_a_loose_database_is_tightened_and_reported_at_start(
    shared_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_folder / "server.sqlite3"
    Storage.open(str(path)).close()
    for file in _files(path):
        file.chmod(0o644)
    Path(f"{path}-wal").write_bytes(b"")  # a companion left readable by an older version
    Path(f"{path}-wal").chmod(0o666)
    if os.geteuid() == 0:
        assert _other_user_reads(path)  # the attack, before: another user reads the file

    code = server_main(["devices", "list", "--db", str(path)])
    _, err = capsys.readouterr()
    assert code == 0
    assert err.count("now readable by the server's user only (0600)") == 2, err
    assert "mode 0644" in err
    assert "mode 0666" in err
    assert {_mode(p) for p in _files(path)} == {0o600}
    if os.geteuid() == 0:
        assert not any(_other_user_reads(p) for p in _files(path))
    storage = Storage.open(str(path))
    assert storage.notices == []  # reported once, at the start that fixed it
    with storage.engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(t.audit.c.action))]
    storage.close()
    assert actions.count("file-mode-tightened") == 2


def test_a_database_the_server_cannot_tighten_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "server.sqlite3"
    Storage.open(str(path)).close()
    path.chmod(0o640)

    def not_owner(*_args: object) -> None:
        raise PermissionError("not the owner")

    monkeypatch.setattr(os, "chmod", not_owner)  # as for a file another user owns
    with pytest.raises(ServerError) as caught:
        Storage.open(str(path))
    assert caught.value.code == "server-file-mode-loose"
    assert "0640" in str(caught.value)
    assert "chmod 600" in str(caught.value)
    monkeypatch.undo()
    folder = tmp_path / "not-a-file.sqlite3"
    folder.mkdir()
    with pytest.raises(ServerError) as caught:
        Storage.open(str(folder))
    assert caught.value.code == "server-file-mode-loose"


def test_init_org_writes_its_keys_in_a_private_folder(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    out.mkdir(mode=0o755)
    out.chmod(0o755)
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery staple\n")
    code = server_main(
        [
            "init-org",
            *("--db", str(tmp_path / "server.sqlite3")),
            *("--out", str(out), "--passphrase-file", str(passfile)),
        ]
    )
    assert code == 0
    assert _mode(out) == 0o700
    assert {_mode(p) for p in out.iterdir()} == {0o600}
