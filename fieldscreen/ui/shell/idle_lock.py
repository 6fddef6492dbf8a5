"""The main window's idle lock and clipboard guard: when the app locks itself, and what it
clears.

The idle watcher filters the app's input only while someone is signed in; while a screening is
open the organisation's longer interview time applies. After an idle lock a short grace
swallows what was being typed, so it never reaches the unlock screen (see :mod:`.idle`). Text
copied from the app is cleared after the clipboard setting's seconds, and at once on lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from fieldscreen.ui.idle import IdleWarning, IdleWatcher, InputGrace

if TYPE_CHECKING:
    from PySide6.QtGui import QShortcut
    from PySide6.QtWidgets import QWidget

    from fieldscreen.settings import Settings

__all__ = ["ClipboardGuard", "IdleLock"]


class ClipboardGuard(QObject):
    """Clears text copied from the app after ``seconds`` (a setting), and at once on lock.

    Only what this app put on the clipboard is cleared (``ownsClipboard``); text the user
    copied from elsewhere afterwards is left alone.
    """

    def __init__(self, seconds: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.clear_now)
        self._ours = ""
        self._watching = False
        self.set_seconds(seconds)

    def watch(self) -> None:
        """Follow the clipboard from now on (from the first unlock: nothing can be copied from
        the app before, and the clipboard's types cost start-up time)."""
        if not self._watching:
            QApplication.clipboard().dataChanged.connect(self._changed)
            self._watching = True

    def set_seconds(self, seconds: int) -> None:
        self.timer.setInterval(max(1, seconds) * 1000)

    def _changed(self) -> None:
        clipboard = QApplication.clipboard()
        # Ours when the platform says so, or when the copy happened while this app had focus
        # (platforms without clipboard ownership, and the offscreen one used in tests).
        if clipboard.ownsClipboard() or QApplication.focusWidget() is not None:
            self._ours = clipboard.text()
            if self._ours:
                self.timer.start()

    def clear_now(self) -> None:
        self.timer.stop()
        if not self._ours:
            return
        clipboard = QApplication.clipboard()
        if self._ours and clipboard.text() == self._ours:
            clipboard.clear()
        self._ours = ""


class IdleLock(QObject):
    """The idle watcher, the grace after an idle lock and the clipboard guard of one window;
    ``lock`` is called when the idle time has passed."""

    def __init__(self, settings: Settings, window: QWidget, lock: Callable[[], None]) -> None:
        super().__init__(window)
        self._settings = settings
        self.watcher = IdleWatcher(int(settings.get("auto_lock_minutes")), window)
        self.watcher.idle.connect(lock)
        #: A screening is open: the organisation's longer idle time.
        self.interviewing = False
        # After an idle lock, what was being typed never reaches the unlock screen.
        self.grace = InputGrace(parent=window)
        self._watching = False  # the idle watcher filters the app's input only while unlocked
        self.clipboard = ClipboardGuard(int(settings.get("clipboard_clear_seconds")), window)

    def show_warnings_on(self, warning: IdleWarning) -> None:
        """The bar that counts down before the idle lock (rebuilt with the window's screens)."""
        self.watcher.will_lock.connect(warning.show_left)
        self.watcher.tick.connect(warning.show_left)
        self.watcher.did_stay.connect(warning.hide)

    def minutes(self) -> int:
        """The idle time now: the organisation's interview time while a screening is open (an
        interview in progress: a child may talk for minutes without a key), else the usual."""
        settings = self._settings
        minutes = int(settings.get("auto_lock_minutes"))
        if self.interviewing:
            minutes = max(minutes, int(settings.get("interview_lock_minutes")))
        return minutes

    def set_interviewing(self, interviewing: bool) -> None:
        if interviewing != self.interviewing:
            self.interviewing = interviewing
            self.refresh_minutes()

    def refresh_minutes(self) -> None:
        minutes = self.minutes()
        if minutes != self.watcher.minutes:
            self.watcher.set_minutes(minutes)
            if self.watcher.is_active():
                self.watcher.start()  # the new time, counted from now

    def apply_settings(self, signed_in: bool) -> None:
        """Settings that act at once: the idle lock and the clipboard clearing."""
        self.refresh_minutes()
        self.clipboard.set_seconds(int(self._settings.get("clipboard_clear_seconds")))
        if signed_in:
            self.watcher.start()

    def watch_input(self, on: bool) -> None:
        """Filter every input event of the app for the idle lock, only while someone is signed
        in: a Python event filter on the whole app costs every event a trip through Python
        (start-up builds and paints the unlock screen without it)."""
        app = QApplication.instance()
        if app is None or on == self._watching:
            return
        if on:
            self.clipboard.watch()
            app.installEventFilter(self.watcher)
        else:
            app.removeEventFilter(self.watcher)
        self._watching = on

    def begin_grace(self, panic: QShortcut | None) -> None:
        """The idle lock's moment: keys and shortcuts swallowed, but the panic chord."""
        app = QApplication.instance()
        if app is not None:
            self.grace.allowed = (panic,) if panic else ()
            self.grace.begin(app)

    def close(self) -> None:
        """The window closes: its filters are on the whole app, not one moment past it."""
        self.watch_input(False)
        self.grace.end()
