"""``kill -9`` of a writer during autosaves: lost acknowledged saves 0, corruptions 0,
half-written records 0; and a canary typed into every answer is found in no file afterwards.

Each trial forks a writer that opens the vault, starts a draft and saves answers as fast as it
can, acknowledging each save on a pipe only after :meth:`Vault.save_draft` returned. The parent
kills it with SIGKILL at a random moment, reopens the vault and checks the draft.
"""

from __future__ import annotations

import hashlib
import os
import random
import select
import time
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.vault import Vault
from tests.reliability.vault_support import canary_hits, count, fork, kill

pytestmark = pytest.mark.reliability

PASS = b"reliability passphrase"


def _state(i: int, canary: str) -> dict[str, object]:
    body = f"{canary} answer {i} " + "x" * (i % 700)
    return {"i": i, "body": body, "check": hashlib.sha256(body.encode()).hexdigest()}


def _writer(folder: Path, canary: str, tmp: Path) -> object:
    def run(fd: int) -> None:
        import tempfile

        tempfile.tempdir = str(tmp)
        os.environ["TMPDIR"] = str(tmp)
        crypto.permit_test_parameters(True)
        vault = Vault.open(folder)
        vault.unlock("admin1", PASS)
        record = vault.new_draft("crash-form", "1", _state(0, canary))
        os.write(fd, f"R {record}\n".encode())
        i = 0
        while True:
            i += 1
            vault.save_draft(record, _state(i, canary))
            os.write(fd, f"A {i}\n".encode())

    return run


def _read_acks(read_fd: int, deadline: float, until: str | None = None) -> list[str]:
    """Lines from the writer until ``deadline``, or until a line starting with ``until``."""
    lines: list[str] = []
    buffer = b""
    while time.monotonic() < deadline:
        if until is not None and any(line.startswith(until) for line in lines):
            break
        ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines.extend(c.decode() for c in complete)
    return lines


def test_kill_9_during_autosaves(tmp_path: Path) -> None:
    crypto.permit_test_parameters(True)
    trials = count(50, 500)
    folder = tmp_path / "profile" / "data"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    canary = "CANARY-" + os.urandom(8).hex()
    Vault.create(
        folder, admin_login="admin1", passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    ).close()
    rng = random.Random(20261127)
    lost = corrupted = half_written = acknowledged = 0
    for _ in range(trials):
        pid, read_fd = fork(_writer(folder, canary, scratch))  # type: ignore[arg-type]
        first = _read_acks(read_fd, time.monotonic() + 0.02 + rng.random() * 0.01)
        # wait for the draft to exist, then let saves run for a random while
        while not any(line.startswith("R ") for line in first):
            # a loaded machine starts slowly: wait up to 10 s, but only until the draft exists
            more = _read_acks(read_fd, time.monotonic() + 10.0, until="R ")
            assert more, "writer did not start"
            first += more
        first += _read_acks(read_fd, time.monotonic() + rng.random() * 0.03)
        while not any(line.startswith("A ") for line in first):
            # a slow disk (fsync per save) may not have finished one save yet: kill only once
            # the writer has acknowledged one, so that every trial kills a writer mid-saves
            more = _read_acks(read_fd, time.monotonic() + 10.0, until="A ")
            assert more, "writer acknowledged no save"
            first += more
        kill(pid)
        first += _read_acks(read_fd, time.monotonic() + 0.01)  # acks already in the pipe
        os.close(read_fd)
        record = next(line[2:] for line in first if line.startswith("R "))
        acked = max([int(line[2:]) for line in first if line.startswith("A ")], default=0)
        acknowledged += acked
        vault = Vault.open(folder)
        vault.unlock("admin1", PASS)
        try:
            state = vault.load_record(record)
        except Exception:
            corrupted += 1
            vault.close()
            continue
        if int(str(state["i"])) < acked:
            lost += 1
        body = str(state["body"])
        if hashlib.sha256(body.encode()).hexdigest() != state["check"]:
            half_written += 1
        vault.close()
    vault = Vault.open(folder)
    vault.unlock("admin1", PASS)
    report = vault.integrity_check()
    vault.close()
    hits = canary_hits([folder.parent, scratch], canary)
    print(
        f"\nkill -9 during autosaves: trials {trials}, acknowledged saves {acknowledged}, "
        f"lost {lost}, corrupted {corrupted}, half-written {half_written}, "
        f"integrity failures {len(report.failed)}, canary hits {len(hits)}"
    )
    assert (lost, corrupted, half_written) == (0, 0, 0)
    assert report.ok, report.to_json()
    assert hits == []
    assert acknowledged >= trials  # the writer really was saving when it was killed
