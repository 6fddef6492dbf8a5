"""What a passphrase change costs, by the number of records on the laptop.

    python -m benchmarks.passphrase_change [N ...]      # default: 1000 50000

A passphrase change is a key rotation (a new key pair for the user and a new master key for
the vault: ``docs/vault.md``, "A passphrase someone saw is taken away by changing it"), so its
cost grows with the vault. Measured on a profile filled by ``fieldscreen simulate`` (finalised
screenings with their case cards, light Argon2id, so key derivation is not what is timed): an
admin's change, a specialist's change, the admin's next unlock that signs the specialist's new
key in, and "rotate keys now" on the same vault for comparison. Wall-clock and CPU seconds of
this process; not a bar of the performance spec, so not in ``make bench``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.p5_cases import LOGIN, PASS, _provision, _simulate

SPEC = b"a specialist passphrase"


def _timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    value = work()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def _relock(vault: Any, login: str, passphrase: bytes) -> Any:
    vault.lock()
    return vault.unlock(login, passphrase)


def measure(n: int) -> dict[str, Any]:
    from fieldscreen import crypto
    from fieldscreen.paths import Paths
    from fieldscreen.vault import Vault

    crypto.permit_test_parameters(True)
    with tempfile.TemporaryDirectory(prefix="fieldscreen-passphrase-") as tmp:
        root, passfile = _provision(Path(tmp))
        filled = _simulate(root, passfile, n, seed=n)
        data = Paths.for_profile(root).vault_dir
        kdf = crypto.KdfParams.for_tests()
        figures: dict[str, Any] = {"records": n, "simulate_s": round(filled, 1)}
        vault = Vault.open(data, new_key_kdf=kdf)
        admin = PASS.encode()
        try:
            vault.unlock(LOGIN, admin)
            vault.add_user("spec1", SPEC, "specialist", admin_passphrase=admin)
            steps: list[tuple[str, Callable[[], Any]]] = [
                ("admin_change", lambda: vault.change_passphrase(admin, admin + b"!")),
                ("admin_change_back", lambda: vault.change_passphrase(admin + b"!", admin)),
                ("specialist_unlock", lambda: _relock(vault, "spec1", SPEC)),
                ("specialist_change", lambda: vault.change_passphrase(SPEC, SPEC + b"!")),
                ("admin_unlock_signs_in", lambda: _relock(vault, LOGIN, admin)),
                ("rotate_keys", lambda: vault.rotate_keys(admin_passphrase=admin)),
            ]
            for name, work in steps:
                wall, cpu, value = _timed(work)
                figures[name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
                if isinstance(value, dict) and "data_keys" in value:
                    figures[name]["data_keys"] = value["data_keys"]
                    figures[name]["audit_entries"] = value["audit_entries"]
                print(f"  {n} records, {name}: {figures[name]}", file=sys.stderr, flush=True)
        finally:
            vault.close()
    figures["load_average"] = [round(v, 2) for v in os.getloadavg()]
    return figures


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [1000, 50000]
    print(json.dumps([measure(n) for n in sizes], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
