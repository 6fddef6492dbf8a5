"""P10: the cost of token matching at 100,000 children on the server (issue 19).

A server database on SQLite holds the match tokens of ``FIELDSCREEN_P10_CHILDREN`` screenings
(three tokens each, as a laptop makes them under one organisation secret), 2 % of the children
screened a second time at another site. Measured: the coordinators' match list
(:meth:`Matching.matches`: the self-join on the token, the pairs grouped, the reading audited)
for an admin (every pair) and for the coordinator of one site. Baseline: a bare ``sqlite3``
grouping of the tokens more than one screening holds, the floor of any query that finds the
pairs. Half the children have one of ten common given names, so the weak token (given names,
age band, country) is shared often: the pairs found include those, and the tokens more than
eight screenings share are counted apart. Reported, no bar yet.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.harness import Result, Sample, sized
from fieldscreen import crypto
from fieldscreen.reports.matching import Identity, match_tokens
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.storage import Principal, Storage

CHILDREN = int(os.environ.get("FIELDSCREEN_P10_CHILDREN", str(sized(100_000, 10_000))))
ROUNDS = sized(5, 3)
SECRET = bytes(range(32))
SITES = [f"site{n}" for n in range(20)]
NAMES = ["ana", "jose", "maria", "kevin", "dulce", "wilmer", "heidy", "marvin", "lesly", "juan"]
SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "su", "ti", "ya", "be", "do", "fe", "gu", "ja", "ri"]


def _name(rng: random.Random) -> str:
    """Half the children with a common given name, the rest with a rarer one."""
    if rng.random() < 0.5:
        return rng.choice(NAMES)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _rows(rng: random.Random) -> tuple[list[dict[str, object]], int]:
    """Match rows for CHILDREN screenings, and how many children were screened twice."""
    rows: list[dict[str, object]] = []
    again = 0
    start = dt.date(2008, 1, 1)
    for _ in range(CHILDREN):
        identity = Identity.of(
            f"{_name(rng)} {_name(rng)}",
            dob=(start + dt.timedelta(days=rng.randrange(6570))).isoformat(),
            age_band=rng.choice(["6_11", "12_14", "15_17"]),
            country=rng.choice(["GT", "HN", "SV", "MX"]),
        )
        visits = 2 if rng.random() < 0.02 else 1
        again += visits == 2
        for visit in range(visits):
            record = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            site = rng.choice(SITES)
            week = f"2026-W{10 + visit * 4 + rng.randrange(4):02d}"
            for token in match_tokens(identity, SECRET):
                rows.append(
                    {
                        "token": token,
                        "record_id": record,
                        "device_id": f"dev-{site}",
                        "site": site,
                        "week": week,
                        "tier": rng.choice(["T1", "T2", "T3"]),
                        "consent": rng.random() < 0.5,
                        "created": "2026-03-01",
                        "received_day": "2026-03-01",
                    }
                )
    return rows, again


def _timed(function: object) -> float:
    start = time.perf_counter()
    function()  # type: ignore[operator]
    return time.perf_counter() - start


def run() -> list[Result]:
    rng = random.Random(10)
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p10-") as tmp:
        db = Path(tmp) / "server.sqlite3"
        with crypto.permitting_test_parameters():
            storage = Storage.open(
                str(db), passphrase=b"benchmark passphrase", kdf=crypto.KdfParams.for_tests()
            )
        rows, again = _rows(rng)
        with storage.engine.begin() as conn:
            for first in range(0, len(rows), 5000):
                conn.execute(t.match_tokens.insert(), rows[first : first + 5000])
        admin = Principal("admin", frozenset(), "bench")
        coordinator = Principal("coordinator", frozenset({SITES[0]}), "bench")
        first_answer = storage.repos.matching.matches(admin)  # warm-up
        pairs, too_common = len(first_answer["matches"]), first_answer["too_common"]
        raw = sqlite3.connect(db)
        bare_sql = "SELECT count(*) FROM match_tokens GROUP BY token HAVING count(*) > 1"
        times: dict[str, list[float]] = {"admin": [], "coordinator": [], "bare": []}
        for _ in range(ROUNDS):
            times["admin"].append(_timed(lambda: storage.repos.matching.matches(admin)))
            times["coordinator"].append(_timed(lambda: storage.repos.matching.matches(coordinator)))
            times["bare"].append(_timed(lambda: raw.execute(bare_sql).fetchall()))
        raw.close()
        storage.close()
    bare = statistics.median(times["bare"])
    details = {
        "children": CHILDREN,
        "screened_twice": again,
        "token_rows": len(rows),
        "pairs_found": pairs,
        "tokens_too_common": too_common,
        "rounds": ROUNDS,
        "bare_sqlite3_join_s": round(bare, 4),
    }
    results = []
    for arm, label in (("admin", "every pair (admin)"), ("coordinator", "one site's coordinator")):
        sample = Sample(tuple(times[arm]))
        results.append(
            Result(
                id="P10",
                name=f"match list at {CHILDREN:,} children, {label}",
                value=sample.median,
                unit="s",
                baseline=bare,
                ratio=round(sample.median / bare, 2) if bare else None,
                bar="reported",
                passed=True,
                details={**details, "measured": sample.summary()},
            )
        )
    return results
