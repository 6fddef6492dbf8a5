"""The main window's resume of a draft: read on the pool, migrated to the form's newer version
when it has one, reopened in the wizard on the page it was left on.

What a newer form version would set aside is asked before anything changes (the draft stays as
it was if the user says no); a draft migrated says so on the wizard, and whether every answer
was kept. Nothing shows if the app locked while the draft was read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldscreen.errors import KnownError
from fieldscreen.ui.shell import WindowController

if TYPE_CHECKING:
    pass

__all__ = ["DraftResume"]


class DraftResume(WindowController):
    """Reopens one window's drafts in its wizard."""

    def resume(self, record_id: str, page: str | None = None) -> None:
        """Reopen the draft ``record_id`` on ``page`` (None: the page it was saved on)."""
        vault = self._services.vault

        def load() -> Any:
            return vault.load_draft(record_id)

        self._services.ops.read(
            load, lambda state: self._loaded(record_id, page, state), self._error
        )

    def _loaded(self, record_id: str, page: str | None, state: Any) -> None:
        services = self._services
        if services.user is None:
            return
        try:  # what a newer form version would set aside, asked before anything changes
            plan = services.forms.migration(state["session"], services.lang)
        except KnownError as error:
            self._error(error)
            return
        if plan is not None and plan.dropped:
            from fieldscreen.ui.draft_dialogs import ask_before_migrating

            ask_before_migrating(
                self._window,
                plan.questions(),
                lambda: self._carry_on(record_id, page, state, plan),
            )
        else:
            self._carry_on(record_id, page, state, plan)

    def _carry_on(self, record_id: str, page: str | None, state: Any, plan: Any) -> None:
        if self._services.user is None:
            return
        try:
            session = self._services.forms.restore(state["session"])
        except KnownError as error:
            self._error(error)
            return
        where = page if page is not None else str(state.get("page", ""))
        wizard = self._window.wizard
        wizard.open(session, where, record_id)
        if plan is not None and plan.migrates:
            wizard.note_migrated(kept_all=not plan.dropped)
        self._window.stack.setCurrentWidget(wizard)
