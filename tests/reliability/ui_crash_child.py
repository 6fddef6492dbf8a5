"""Child process for the UI crash test: answers questions through the wizard over the real vault
and prints every answer the app acknowledged as saved, until it is killed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from fieldscreen import crypto
from fieldscreen.app import create_application
from fieldscreen.settings import Settings
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.common import Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.preview import SampleForms

PASS = "correct horse battery"


def main() -> None:
    folder = Path(sys.argv[1])
    crypto.permit_test_parameters(True)
    light = crypto.KdfParams.for_tests()
    app = create_application()
    store = VaultBackend(folder / "vault", kdf=light, new_key_kdf=light)
    services = Services(store, SampleForms(), Settings(folder / "settings.json"), Operations())
    if not store.is_set_up():
        store.create_user("ana", "admin", PASS)
    services.user = store.unlock("ana", PASS)
    window = MainWindow(services)
    window.start_screening()
    controller = window.wizard.controller
    assert controller is not None
    count = 0

    def next_answer() -> None:
        nonlocal count
        count += 1
        controller.answer("notes", f"note number {count}")

    def saved(state: str) -> None:
        if state == "saved":
            snapshot = controller.snapshot()
            print(json.dumps({"id": controller.record_id, "state": snapshot}), flush=True)
            next_answer()

    controller.save_state.connect(saved)
    next_answer()
    app.exec()


if __name__ == "__main__":
    main()
