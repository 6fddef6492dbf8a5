"""The idle lock, designed for interviews.

A child may talk for minutes without a key being pressed, and a specialist typing an answer must
never type it into the passphrase box. So the idle lock:

* warns first: :class:`IdleWatcher` emits :attr:`IdleWatcher.will_lock` ``WARNING_SECONDS``
  before it locks, and :class:`IdleWarning` shows a banner with a countdown; any key, click or
  mouse move in the app keeps it open (the banner hides, the wait starts again);
* swallows what is typed in the moment of locking: :class:`InputGrace` eats every key and
  shortcut (except the panic chord) for ``GRACE_MS`` after an idle lock, and the unlock screen
  starts with a box that takes no text until the user clearly begins (Enter or a click);
* says why: the unlock screen says it locked for inactivity and that the work is saved.

The quick lock (Ctrl+L, the Lock button) is unchanged: the box takes the passphrase at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from fieldscreen.ui.common import scale_font

if TYPE_CHECKING:
    # Not at run time on the start-up path: creating QEvent's enums costs start-up time; the
    # functions that need it import it when they first run (after someone has signed in).
    from PySide6.QtCore import QEvent

__all__ = ["GRACE_MS", "WARNING_SECONDS", "IdleWarning", "IdleWatcher", "InputGrace"]

# How long before an idle lock the warning shows (shorter when the idle time itself is short).
WARNING_SECONDS = 30
# How long after an idle lock every key and shortcut is swallowed.
GRACE_MS = 2_000


def _input_events() -> frozenset[QEvent.Type]:
    """The events that count as the user's presence (built on first use: creating Qt's enum
    types costs start-up time, and the watcher only runs while someone is signed in)."""
    from PySide6.QtCore import QEvent

    kind = QEvent.Type
    return frozenset(
        {kind.KeyPress, kind.MouseButtonPress, kind.MouseMove, kind.Wheel, kind.TouchBegin}
    )


class IdleWatcher(QObject):
    """Restarts its timers on every key, click or mouse move anywhere in the app.

    ``timer`` runs the whole idle time and fires :attr:`idle`; ``warn_timer`` fires
    :attr:`will_lock` a little earlier, then :attr:`tick` counts the seconds left each second.
    Input during the warning emits :attr:`did_stay`.
    """

    idle = Signal()
    will_lock = Signal(int)  # seconds left
    tick = Signal(int)  # seconds left, each second of the warning
    did_stay = Signal()

    def __init__(self, minutes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._fire)
        self.warn_timer = QTimer(self)
        self.warn_timer.setSingleShot(True)
        self.warn_timer.timeout.connect(self._warn)
        self.seconds = QTimer(self)
        self.seconds.setInterval(1000)
        self.seconds.timeout.connect(self._count)
        self.warning_seconds = WARNING_SECONDS
        self.warning = False
        self.set_minutes(minutes)
        self._inputs: frozenset[QEvent.Type] = frozenset()

    @property
    def minutes(self) -> int:
        return self.timer.interval() // 60_000

    def set_minutes(self, minutes: int) -> None:
        self.timer.setInterval(max(1, minutes) * 60_000)

    def _warning_ms(self) -> int:
        """The warning's length: ``warning_seconds``, at most half of the idle time."""
        return min(self.warning_seconds * 1000, self.timer.interval() // 2)

    def start(self) -> None:
        """(Re)start the wait from now, hiding a warning in progress."""
        self.timer.start()
        self.warn_timer.start(max(0, self.timer.interval() - self._warning_ms()))
        if self.warning:
            self.warning = False
            self.seconds.stop()
            self.did_stay.emit()

    def stop(self) -> None:
        self.timer.stop()
        self.warn_timer.stop()
        self.seconds.stop()
        self.warning = False

    def is_active(self) -> bool:
        return self.timer.isActive()

    def left(self) -> int:
        """Whole seconds left before the lock (rounded up)."""
        return max(0, (self.timer.remainingTime() + 999) // 1000)

    def _warn(self) -> None:
        if not self.timer.isActive():
            return
        self.warning = True
        self.seconds.start()
        self.will_lock.emit(self.left())

    def _count(self) -> None:
        if self.warning and self.timer.isActive():
            self.tick.emit(self.left())

    def _fire(self) -> None:
        self.stop()
        self.idle.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._inputs:
            self._inputs = _input_events()
        if event.type() in self._inputs and self.timer.isActive():
            self.start()
        return False


class IdleWarning(QFrame):
    """The banner over every screen while the idle lock counts down."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("idleWarning")
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 8, 16, 8)
        self.text = QLabel("", self)
        self.text.setObjectName("idleWarningText")
        self.text.setWordWrap(True)
        scale_font(self.text, 1.1, bold=True)
        row.addWidget(self.text, 1)
        self.hide()

    def show_left(self, seconds: int) -> None:
        # "%d s", not "%n second(s)": English has no plural forms of its own in this app.
        self.text.setText(
            self.tr(
                "FieldScreen locks in %d s because nothing was typed. Press any key or move the "
                "mouse to keep working; your answers are saved."
            )
            % seconds
        )
        self.setAccessibleName(self.text.text())
        self.show()


class InputGrace(QObject):
    """While installed on the application, swallows every key and shortcut, except the
    ``allowed`` shortcut objects (the panic chord), then removes itself after ``ms``."""

    def __init__(self, ms: int = GRACE_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.allowed: tuple[QObject, ...] = ()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(ms)
        self.timer.timeout.connect(self.end)
        self._swallowed: frozenset[QEvent.Type] = frozenset()
        self._shortcut: QEvent.Type | None = None
        self._app: QObject | None = None

    def begin(self, app: QObject) -> None:
        if not self._swallowed:
            from PySide6.QtCore import QEvent

            kind = QEvent.Type
            # Not ShortcutOverride: a swallowed override counts as "the focus widget takes this
            # key", which would block the panic chord too. The Shortcut event itself is eaten.
            self._swallowed = frozenset({kind.KeyPress, kind.KeyRelease, kind.Shortcut})
            self._shortcut = kind.Shortcut
        if self._app is None:
            app.installEventFilter(self)
            self._app = app
        self.timer.start()

    def active(self) -> bool:
        return self._app is not None

    def end(self) -> None:
        self.timer.stop()
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() not in self._swallowed:
            return False
        return not (event.type() == self._shortcut and watched in self.allowed)
