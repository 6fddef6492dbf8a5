"""The main window's case list, loaded: the first screenful as soon as the vault's list index
is read, then every row; reading, building and sorting the rows all run on the read pool. A
slower earlier load never overwrites a later one, and nothing shows if the app locked meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldscreen.ui.shell import WindowController

if TYPE_CHECKING:
    from fieldscreen.ui import cases as case_list
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.main_window import MainWindow

__all__ = ["CaseListLoad"]

#: Rows of the case list shown before the rest are sorted (more than a window holds).
SCREENFUL = 100


class CaseListLoad(WindowController):
    """Loads one window's case list from the vault."""

    def __init__(self, services: Services, window: MainWindow) -> None:
        super().__init__(services, window)
        #: Counts the loads, so a slower earlier load never overwrites a later one.
        self._load = 0

    def load(self) -> None:
        """Read the rows in the list's current order and show them, the first screenful first."""
        services = self._services
        page = self._window.cases
        vault = services.vault
        key = page.model.sort_key
        self._load = load_id = self._load + 1

        from fieldscreen.ui import cases as case_list

        def first(load: case_list.CaseLoad) -> None:
            if services.user is None or load_id != self._load:
                return
            page.set_rows(load.first, presorted=key, total=load.total)
            services.ops.read(
                lambda: load.rows(key),
                lambda ordered: self._rows(ordered, key, load_id),
                self._error,
            )

        services.ops.read(lambda: case_list.load_rows(vault, key, SCREENFUL), first, self._error)

    def _rows(self, rows: list[case_list.CaseRow], key: str, load_id: int) -> None:
        if self._services.user is not None and load_id == self._load:
            self._window.cases.set_rows(rows, presorted=key)
