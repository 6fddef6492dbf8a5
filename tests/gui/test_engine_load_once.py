"""The built-in forms load once, even when the warm-up on a worker and a screening started on
the GUI thread ask at the same moment (a quick Start right after set-up). Two threads loading
at once imported pyxform's circular modules half-initialised: the warm-up failed with an
ImportError and the screening never opened."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from fieldscreen import app as app_module
from fieldscreen.ui import engine as engine_module


class SlowEngine:
    loads = 0

    def __init__(self, *args: Any) -> None:
        pass

    def warm(self) -> None:
        SlowEngine.loads += 1
        time.sleep(0.2)  # importing and loading the forms takes about a second


def test_two_threads_asking_at_once_load_the_forms_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "EngineForms", SlowEngine)
    SlowEngine.loads = 0
    lazy = app_module._LazyEngine({})
    got: list[Any] = []
    workers = [threading.Thread(target=lambda: got.append(lazy._get())) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert SlowEngine.loads == 1
    assert got[0] is got[1]
