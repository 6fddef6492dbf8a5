"""The unlock throttle's counter, kept beside the key file so that it holds across processes.

``vault.throttle`` is small JSON: the failures in a row, the time of the last one, and a checksum
of both with the vault id. From the third failure in a row each attempt waits longer (1, 2, 4 ...
up to 30 seconds); the wait is taken *before* the next attempt too, so a script that starts a
new ``fieldscreen`` process per guess, or kills one while it waits, gets no faster. A counter
that is missing or whose checksum does not match (edited to reset it) counts as
:data:`CONSERVATIVE` failures, just now: it never resets silently.

No key is available before unlock, so the checksum is unkeyed: someone who rewrites the file
with a checksum of their own resets it. What bounds guessing then is Argon2id's cost per guess
(about 0.8 s and 256 MiB at the production parameters).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from fieldscreen.paths import atomic_write_bytes

__all__ = ["CONSERVATIVE", "THROTTLE_NAME", "Counter", "delay", "read", "write"]

THROTTLE_NAME = "vault.throttle"
#: Failures assumed when the counter is missing or was edited.
CONSERVATIVE = 5


@dataclass(frozen=True, slots=True)
class Counter:
    failures: int
    last: float
    trusted: bool = True


def delay(failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row."""
    return 0.0 if failures < 3 else min(2.0 ** (failures - 3), 30.0)


def _check(vault_id: str, failures: int, last: float) -> str:
    return hashlib.sha256(f"{vault_id}|{failures}|{last!r}".encode()).hexdigest()


def read(folder: Path, vault_id: str, now: float, *, first_format: bool = False) -> Counter:
    """The stored counter; a missing or edited one counts as :data:`CONSERVATIVE`, now
    (missing is 0 for a vault of key-file format 1, made before the counter existed)."""
    try:
        data = json.loads((folder / THROTTLE_NAME).read_bytes())
        failures, last = data["failures"], data["last"]
        if (
            isinstance(failures, int)
            and not isinstance(failures, bool)
            and 0 <= failures < 1_000_000
            and isinstance(last, float)
            and data["check"] == _check(vault_id, failures, last)
        ):
            return Counter(failures, last)
    except FileNotFoundError:
        if first_format:
            return Counter(0, 0.0, trusted=False)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        pass
    return Counter(CONSERVATIVE, now, trusted=False)


def write(folder: Path, vault_id: str, failures: int, last: float) -> None:
    """Store the counter (atomically); a failure to write is not an unlock failure."""
    data = {"failures": failures, "last": float(last), "check": _check(vault_id, failures, last)}
    with contextlib.suppress(OSError):
        atomic_write_bytes(folder / THROTTLE_NAME, json.dumps(data).encode())
