"""The main window's home screen, filled: the user's drafts and cases, what waits to be sent (the
sync's glance once enrolled, else a line on the server and the sealed screenings waiting), and
what a supervisor sent back to the user. Read on the pool (the sent-back list on the writer: it
decrypts audit entries); nothing shows if the app locked meanwhile.

Its strings are translated in the main window's context, where they were written first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication

from fieldscreen.ui.shell import WindowController

if TYPE_CHECKING:
    from fieldscreen.ui.ports import CaseSummary, DraftSummary

__all__ = ["HomeRefresh"]

_HomeData = tuple[list["DraftSummary"], list["CaseSummary"], int, dict[str, int] | None]


class HomeRefresh(WindowController):
    """Fills one window's home screen from the vault."""

    def refresh(self) -> None:
        """Read the home screen's lists and counts on the pool, then show them."""
        vault = self._services.vault
        model = self._services.sync

        def read() -> _HomeData:
            counts = model.counts() if model is not None else None
            return list(vault.drafts()), list(vault.cases()), vault.pending(), counts

        self._services.ops.read(read, self._shown, self._error)

    def _shown(self, data: _HomeData) -> None:
        services = self._services
        if services.user is None:
            return
        drafts, cases, pending, counts = data
        model = services.sync
        home = self._window.home
        self._load_sent_back()
        if model is not None and counts is not None:
            from fieldscreen.ui.sync_page import sync_glance

            glance = sync_glance(counts, model.background.reachable, model.background.enabled)
            home.set_data(services.user.name, drafts, cases, glance)
            return
        server = services.settings.get("server_url")
        waiting = (
            QCoreApplication.translate(
                "MainWindow", "%n screening(s) sealed and waiting to be sent", "", pending
            )
            if pending
            else QCoreApplication.translate("MainWindow", "nothing waiting to be sent")
        )
        where = (
            QCoreApplication.translate("MainWindow", "Working offline: no server set")
            if not server
            else QCoreApplication.translate("MainWindow", "Server set")
        )
        sync = f"{where} · {waiting}"
        home.set_data(services.user.name, drafts, cases, sync)

    def _load_sent_back(self) -> None:
        """What a supervisor sent back to the signed-in user, on home (read on the writer:
        it decrypts audit entries)."""
        from fieldscreen.ui.supervision import model_for

        supervision = model_for(self._services)
        if supervision is None:
            return

        def shown(items: Any) -> None:
            if self._services.user is not None:
                self._window.home.set_sent_back(items)

        self._services.ops.write(supervision.sent_back, shown, self._error)
