"""Where a device submit's time goes, as a ``Server-Timing`` answer header (opt-in).

With ``ServerConfig.server_timing`` (``FIELDSCREEN_SERVER_TIMING=1`` in the server's
environment) the submit route answers with the milliseconds its request spent in each part:
waiting for a worker thread, the credential's lookup, the rate limit and nonce transaction
(on SQLite that includes waiting for the database's one writer lock), the request's
signature, the batch's shape checks, waiting for the group commit's writer (the group before
being written), the envelopes' signatures still verifying once its group was taken, the
insert, the commit, and the receipt. The benchmarks read it (P8 prints the split of the
slowest submits); off by default, so a device learns nothing of the server's timings.

The parts are kept in a context variable: the worker threads that run a request's work
(Starlette's ``run_in_threadpool``) see a copy of the request's context, and so the same dict.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

_T = TypeVar("_T")

__all__ = ["add", "header", "in_thread", "parse", "part", "started"]

_CURRENT: ContextVar[dict[str, float] | None] = ContextVar("server_timing", default=None)


def started() -> dict[str, float]:
    """Start counting the current request's parts (in the request's own context)."""
    parts: dict[str, float] = {}
    _CURRENT.set(parts)
    return parts


def add(name: str, seconds: float) -> None:
    """Add ``seconds`` to the current request's part ``name`` (nothing when not counting)."""
    parts = _CURRENT.get()
    if parts is not None:
        parts[name] = parts.get(name, 0.0) + seconds


@contextlib.contextmanager
def part(name: str) -> Iterator[None]:
    """Count the time of the ``with`` block as part ``name`` of the current request."""
    if _CURRENT.get() is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - start)


async def in_thread(name: str, func: Callable[..., _T], *args: Any) -> _T:
    """``run_in_threadpool(func, *args)``, the wait for a worker thread counted as ``name``."""
    if _CURRENT.get() is None:
        return await run_in_threadpool(func, *args)
    since = time.perf_counter()

    def call() -> _T:
        add(name, time.perf_counter() - since)
        return func(*args)

    return await run_in_threadpool(call)


def header(parts: dict[str, float]) -> str:
    """``Server-Timing``'s value: ``name;dur=milliseconds``, comma-separated; a part whose
    name starts with ``n-`` is a count, given as ``name;desc=count``."""
    return ", ".join(
        f"{name};desc={value:g}" if name.startswith("n-") else f"{name};dur={value * 1000:.2f}"
        for name, value in parts.items()
    )


def parse(value: str) -> dict[str, float]:
    """A ``Server-Timing`` value as :func:`header` writes it: milliseconds (counts) by name."""
    parts: dict[str, float] = {}
    for item in value.split(","):
        name, _, rest = item.strip().partition(";")
        _key, _, number = rest.partition("=")
        try:
            parts[name] = float(number)
        except ValueError:
            continue
    return parts
