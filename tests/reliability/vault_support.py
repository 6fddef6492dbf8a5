"""Shared pieces of the vault's reliability runs: counts, forked writers, canary scans."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterable
from pathlib import Path

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"


def count(fast: int, full: int) -> int:
    """The number of trials: ``full`` under ``make reliability`` (FIELDSCREEN_FULL=1)."""
    return full if FULL else fast


def fork(child: Callable[[int], None]) -> tuple[int, int]:
    """Run ``child(write_fd)`` in a forked process; return ``(pid, read_fd)``.

    The child never returns into pytest: it leaves with ``os._exit``.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_fd)
        code = 0
        try:
            child(write_fd)
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def canary_forms(canary: str) -> list[bytes]:
    """Ways a canary could show up on disk: UTF-8, UTF-16, hex, upper case."""
    return [
        canary.encode("utf-8"),
        canary.encode("utf-16-le"),
        canary.encode("utf-8").hex().encode(),
        canary.upper().encode(),
    ]


def canary_hits(roots: Iterable[Path], canary: str) -> list[str]:
    """Files under ``roots`` that contain the canary in any of its forms."""
    forms = canary_forms(canary)
    hits = []
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                if any(form in data for form in forms):
                    hits.append(str(path))
    return hits
