"""One keyboard-only screening in a real window: run as its own process on an X display.

``python -m tests.journey.driver --lang es --profile DIR --out report.json [--shots DIR]``

The app is the real one (:func:`fieldscreen.app.open_window` over a real vault in ``DIR``), on
Qt's xcb platform. Every key reaches it through the X server (``xdotool``, the XTEST
extension), exactly as a keyboard's would; the driver only *looks* at the widgets to know
where the focus is and when the app is done. It never sets an answer or clicks through the API.

The journey: first run (login, passphrases, the site's country), unlock is implied, a new
screening over the built-in forms answered page by page, the idle lock in the middle (the
watcher's time is shortened for the moment, the warning is kept open by a key once, then the
app locks; what is typed at that moment must not reach the passphrase box), unlock, on to the
results, the referral sheet saved through the app's own dialogs and its text read back, and
the screening finalised. The report (JSON) says what was seen; the test asserts on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

LOGIN = "ana.lopez"
PASSPHRASE = "correct horse battery"
#: The idle time of the lock while the journey waits for it, and its warning.
IDLE_MS = 2_000
WARNING_S = 1
#: How long one step may take before the journey counts as stuck.
STEP_S = 20.0
NEUTRAL = ("no", "none", "not_applicable", "unknown", "declined")
AGREE = ("yes", "agrees", "agree", "granted", "given")
CHOSEN: dict[str, Any] = {
    "fs_consent:teach_back": "understood",
    "fs_intake:g_worked": "yes",
    "fs_consent:urgent_medical_visible": "no",
}


Steps = Generator[None, None, Any]


#: The pages whose screenshots the documentation shows, by the file name they are saved as.
PAGE_SHOTS = {
    "fs_consent:a1_setup": "builtin-consent",
    "fs_trafficking:c1_recruitment": "trafficking",
}
#: The same, taken once the page is answered (its long lists show their chosen answers).
ANSWERED_SHOTS = {"fs_intake:b1_identity": "builtin-identity"}


class Stuck(AssertionError):
    pass


def plain(text: str) -> str:
    """``text`` without accents (the picker's search ignores them; xdotool types ASCII
    reliably on any keyboard map)."""
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .encode("ascii", "ignore")
        .decode()
    )


def _changed(read: Callable[[], object], before: object) -> Callable[[], bool]:
    """A condition: what ``read`` gives is no longer ``before``."""
    return lambda: read() is not before


class Driver:
    def __init__(self, window: Any, shots: Path | None, lang: str) -> None:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self.app = app
        self.w = window
        self.shots = shots
        self.lang = lang
        self.keys_sent = 0
        self.tab_batches = 0
        self.seen: dict[str, Any] = {"pages": [], "shots": []}
        self.began = time.monotonic()

    # ------------------------------------------------------------ waiting and keys
    # The journey is a generator, stepped by a timer of the app's own event loop: each ``yield``
    # hands the loop back for one turn. So a dialog that runs a nested loop of its own (the
    # save dialog does) keeps the journey going inside it, as it would a person at a keyboard.
    def pump(self, seconds: float = 0.03) -> Steps:
        """Let the app run for ``seconds``."""
        end = time.monotonic() + seconds
        yield
        while time.monotonic() < end:
            yield

    def wait(self, condition: Callable[[], object], what: str, seconds: float = STEP_S) -> Steps:
        end = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > end:
                raise Stuck(f"waited {seconds:.0f} s for {what}")
            yield

    def log(self, text: str) -> None:
        print(
            f"journey {time.monotonic() - self.began:6.1f} s  {text}", file=sys.stderr, flush=True
        )

    def xdo(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=30)

    def delivered(self) -> Steps:
        """Let the app take the keys xdotool sent. xdotool waits until the X server has made
        the events; the app reads them on its next turns. (Not ``QGuiApplication.sync()``: it
        dispatches events itself, so a dialog's nested loop would start inside this step.)"""
        yield from self.pump(0.015)

    def key(self, *names: str) -> Steps:
        self.keys_sent += len(names)
        self.xdo("key", "--delay", "2", *names)
        yield from self.delivered()

    def type(self, text: str) -> Steps:
        self.keys_sent += len(text)
        self.xdo("type", "--delay", "2", text)
        yield from self.delivered()

    def focused(self) -> Any:
        return self.app.focusWidget()

    def tab_to(self, accept: Callable[[Any], bool], what: str, limit: int = 200) -> Steps:
        """Press Tab until the focused widget is one ``accept`` takes; returns it.

        The presses Qt's focus chain says are needed go in one batch (never more than needed:
        the radio buttons of one question count as one stop, though Qt may stop at each), then
        one at a time until the focus is there."""
        batch = self.tabs_needed(accept)
        if batch > 1:
            yield from self.key(*["Tab"] * batch)
            self.tab_batches += 1
            yield from self.wait_briefly(lambda: accept(self.focused()))
        for _ in range(limit):
            now = self.focused()
            if now is not None and accept(now):
                return now
            yield from self.key("Tab")
            yield from self.wait(_changed(self.focused, now), f"Tab to leave {now!r}", 5)
        raise Stuck(f"{limit} presses of Tab never reached {what}")

    def tabs_needed(self, accept: Callable[[Any], bool]) -> int:
        """How many presses of Tab reach a widget ``accept`` takes, at most (0: not found)."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QRadioButton

        start = self.focused()
        if start is None:
            return 0
        top = start.window()
        count, widget, groups = 0, start, set()
        for _ in range(2000):
            widget = widget.nextInFocusChain()
            if widget is start:
                return 0
            if not (
                widget.focusPolicy() & Qt.FocusPolicy.TabFocus
                and widget.focusProxy() is None
                and widget.isVisibleTo(top)
                and widget.isEnabled()
                and widget.window() is top
            ):
                continue
            if accept(widget):
                return count + 1
            if isinstance(widget, QRadioButton):
                group = widget.group() or widget.parentWidget()
                if id(group) in groups:
                    continue
                groups.add(id(group))
            count += 1
        return 0

    def wait_briefly(self, condition: Callable[[], object], seconds: float = 0.3) -> Steps:
        end = time.monotonic() + seconds
        while not condition() and time.monotonic() < end:
            yield

    def press(self, button: Any) -> Steps:
        """Tab to ``button``, then Space (how a keyboard user presses a button)."""
        yield from self.tab_to(lambda w: w is button, f"the button {button.text()!r}")
        yield from self.key("space")

    def window_focus(self) -> Steps:
        yield from self.wait(self.w.isVisible, "the window to show")
        self.xdo("windowfocus", "--sync", str(int(self.w.winId())))
        yield from self.wait(self.w.isActiveWindow, "the window to take the keyboard")

    def shot(self, name: str) -> Steps:
        """The window as the X server shows it (not a widget rendering)."""
        if self.shots is not None:
            yield from self.pump(0.3)  # let the last paint reach the display
            self.grab(name)

    def grab(self, name: str) -> None:
        if self.shots is None:
            return
        picture = self.w.screen().grabWindow(int(self.w.winId()))
        path = self.shots / f"{name}-{self.lang}.png"
        picture.save(str(path))
        self.seen["shots"].append(path.name)

    # ------------------------------------------------------------ the journey
    def first_run(self, provisioning: Path) -> Steps:
        """Read the organisation's provisioning file through the app's own dialog (the
        organisation key, the site and its country come from it), then create the login."""
        from PySide6.QtWidgets import QFileDialog

        w = self.w
        page = w.first_run
        yield from self.wait(lambda: w.stack.currentWidget() is page, "the first-run page")
        yield from self.window_focus()
        yield from self.shot("first-run")
        self.log("first run: the provisioning file")
        yield from self.press(page.provision_button)
        yield from self.wait(
            lambda: isinstance(self.app.activeModalWidget(), QFileDialog), "the open dialog"
        )
        yield from self.pump(0.3)
        yield from self.type(str(provisioning))
        yield from self.key("Return")
        yield from self.wait(lambda: page.provisioning is not None, "the provisioning summary")
        yield from self.window_focus()  # no window manager gives the keyboard back
        self.seen["provisioned"] = page.provision_status.text()
        self.log("first run: the login")
        yield from self.tab_to(lambda f: f is page.name, "the login box")
        yield from self.type(LOGIN)
        yield from self.tab_to(lambda f: f is page.passphrase, "the passphrase box")
        yield from self.type(PASSPHRASE)
        yield from self.tab_to(lambda f: f is page.repeat, "the second passphrase box")
        yield from self.type(PASSPHRASE)
        yield from self.shot("first-run-provisioned")
        self.log("first run: create")
        yield from self.press(page.create_button)
        yield from self.wait(
            lambda: w.stack.currentWidget() is w.home, "the home screen after set-up", 60
        )
        # A provisioned laptop not enrolled yet is offered the enrolment at first run; this
        # journey has no server, so it is put off for later (Escape), as a user without the
        # code at hand does.
        yield from self.wait(
            lambda: w.enrolment.dialog is not None and w.enrolment.dialog.isVisible(),
            "the enrolment offered at first run",
            60,
        )
        self.log("first run: the enrolment, later")
        self.xdo("windowfocus", "--sync", str(int(w.enrolment.dialog.winId())))
        yield from self.wait(
            w.enrolment.dialog.isActiveWindow, "the enrolment to take the keyboard"
        )
        yield from self.key("Escape")
        yield from self.wait(lambda: not w.enrolment.dialog.isVisible(), "the enrolment put off")
        yield from self.window_focus()  # no window manager gives the keyboard back
        self.seen["site"] = w.services.settings.get("site_id")
        self.log("home")

    def start(self) -> Steps:
        w = self.w
        yield from self.press(w.home.start)
        yield from self.wait(
            lambda: w.stack.currentWidget() is w.wizard, "the first page of the form", 60
        )

    def answer(self, name: str, widget: Any, value: Any = None) -> Steps:
        from fieldscreen.ui.fields import PickerWidget

        view = widget.view
        names = [c.name for c in view.choices]
        inside = lambda f: f is not None and widget.isAncestorOf(f)  # noqa: E731
        self.log(f"  {name} ({view.kind})")
        if view.kind in {"select_one", "select_multiple"}:
            if value is None:
                prefer = AGREE if name.startswith("fs_consent:") else NEUTRAL
                value = next((c for c in prefer if c in names), names[0] if names else None)
            if isinstance(widget, PickerWidget):
                yield from self.pick(widget, value)
            elif view.kind == "select_one":
                target = widget.buttons[value]
                yield from self.tab_to(inside, f"the choices of {name}")
                for _ in range(len(names) + 1):
                    if target.isChecked():
                        break
                    before = self.focused()
                    if before is target:
                        yield from self.key("space")
                        yield from self.wait(target.isChecked, f"Space to pick {value}", 5)
                    else:
                        yield from self.key("Down")  # an arrow picks as it moves
                        yield from self.wait(_changed(self.focused, before), "Down to move", 5)
                if not target.isChecked():
                    raise Stuck(f"{name}: the arrows never picked {value}")
            else:
                box = widget.boxes[value]
                yield from self.tab_to(lambda f: f is box, f"the box {value} of {name}")
                yield from self.key("space")
        elif view.kind in {"text", "multiline"}:
            yield from self.tab_to(lambda f: f is widget.editor, f"the text box of {name}")
            yield from self.type(str(value or "Ana"))
        elif view.kind in {"integer", "decimal"}:
            yield from self.tab_to(lambda f: f is widget.editor, f"the number box of {name}")
            yield from self.type(str(value or (15 if view.kind == "integer" else 1)))
        elif view.kind in {"date", "datetime", "time"}:
            yield from self.tab_to(lambda f: f is widget.today, f"the Today button of {name}")
            yield from self.key("space")
        elif view.kind == "acknowledge":
            yield from self.tab_to(lambda f: f is widget.check, f"the box of {name}")
            yield from self.key("space")
        else:
            raise Stuck(f"{name}: no keyboard answer for a {view.kind} question")
        if view.kind in {"select_one", "select_multiple"}:
            session = self.w.wizard.controller.session
            yield from self.wait(
                lambda: value == session.value(name) or value in (session.value(name) or ()),
                f"{name} to be answered {value}",
                5,
            )

    def pick(self, widget: Any, choice: str) -> Steps:
        """Type the choice into the picker's search box, move onto it, press Enter."""
        label = next(c.label for c in widget.view.choices if c.name == choice)
        yield from self.tab_to(
            lambda f: f is widget.search, f"the search box of {widget.view.name}"
        )
        yield from self.type(plain(label))
        yield from self.wait(lambda: widget.search.text() == plain(label), "the search text", 5)
        for _ in range(20):
            item = widget.list.currentItem()
            if item is not None and item.text() == label:
                break
            yield from self.key("Down")
            yield from self.wait(_changed(widget.list.currentItem, item), "Down in the list", 5)
        else:
            raise Stuck(f"{widget.view.name}: {label!r} never became the current choice")
        yield from self.key("Return")

    def form(self, idle_on_page: int) -> Steps:
        w = self.w
        wiz = w.wizard
        pages: list[str] = self.seen["pages"]
        missing: Any = {}
        for _ in range(200):
            if w.stack.currentWidget() is w.results:
                return
            page = wiz.current_page_name()
            if not pages or pages[-1] != page:
                pages.append(page)
                self.log(f"page {page}")
                if page in PAGE_SHOTS:
                    yield from self.shot(PAGE_SHOTS[page])
                if len(pages) == idle_on_page:
                    yield from self.idle_lock()
            session = wiz.controller.session
            current = [v.name for p in wiz._pages if p.name == page for v in p.fields]
            missing = session.missing_required(page, self.lang)
            for name in current:
                widget = wiz.widgets.get(name)
                if widget is None or not widget.isVisibleTo(wiz):
                    continue
                if name in CHOSEN and session.value(name) != CHOSEN[name]:
                    yield from self.answer(name, widget, CHOSEN[name])
                elif name in missing:
                    yield from self.answer(name, widget)
            if (
                page in ANSWERED_SHOTS
                and ANSWERED_SHOTS[page] + f"-{self.lang}.png" not in (self.seen["shots"])
            ):
                yield from self.shot(ANSWERED_SHOTS[page])
            yield from self.press(wiz.next)

            def left(before: str = page) -> bool:
                return (
                    wiz.current_page_name() != before
                    or w.stack.currentWidget() is w.results
                    or bool(wiz.controller.session.missing_required(before, self.lang))
                )

            yield from self.wait(left, f"Next to leave {page}")
        raise Stuck(f"stuck on {wiz.current_page_name()}: {dict(missing)}")

    def idle_lock(self) -> Steps:
        """Wait without a key: the warning counts down, a key keeps the app open; then it locks.
        Keys typed at that moment go nowhere; Enter begins, the passphrase unlocks."""
        w = self.w
        idle = w.idle
        page = w.wizard.current_page_name()
        idle.warning_seconds = WARNING_S
        idle.timer.setInterval(IDLE_MS)
        idle.start()
        yield from self.wait(w.idle_warning.isVisible, "the idle warning", 10)
        self.seen["idle_warning"] = w.idle_warning.text.text()
        yield from self.shot("idle-warning")
        yield from self.key("shift")  # any key keeps it open
        yield from self.wait(lambda: not w.idle_warning.isVisible(), "a key to hide the warning", 5)
        self.seen["warning_kept_open"] = w.stack.currentWidget() is w.wizard
        yield from self.wait(lambda: w.stack.currentWidget() is w.unlock_page, "the idle lock", 10)
        idle.set_minutes(int(w.services.settings.get("auto_lock_minutes")))  # the policy again
        self.log("idle: locked")
        unlock = w.unlock_page
        yield from self.type("15")  # the child's age, typed as it locked
        yield from self.key("Tab", "space", "alt+n")
        self.seen["typed_into_lock"] = unlock.passphrase.text()
        self.seen["failed_unlocks"] = w.services.vault.failed_attempts(LOGIN)
        self.seen["lock_note"] = unlock.note.text()
        yield from self.shot("idle-locked")
        yield from self.pump(2.2)  # the moment of locking is over
        yield from self.tab_to(lambda f: f is unlock.passphrase, "the passphrase box")
        yield from self.key("Return")  # begin
        yield from self.wait(lambda: not unlock.waiting_to_begin, "Enter to begin", 5)
        yield from self.type(PASSPHRASE)
        yield from self.key("Return")
        yield from self.wait(
            lambda: w.stack.currentWidget() is w.wizard, "the form after unlocking", 60
        )
        self.seen["page_after_unlock"] = w.wizard.current_page_name() == page

    def results(self, sheet: Path) -> Steps:
        from PySide6.QtWidgets import QFileDialog, QMessageBox

        w = self.w
        res = w.results
        yield from self.wait(lambda: res.result is not None, "the result")
        self.seen["tier"] = res.result.tier
        self.seen["code"] = w.wizard.controller.code
        yield from self.shot("builtin-results")
        self.log("results: the referral sheet")
        yield from self.press(res.sheet)
        modal = self.app.activeModalWidget
        yield from self.wait(
            lambda: isinstance(modal(), QMessageBox), "the unencrypted-PDF warning"
        )
        box = modal()
        assert isinstance(box, QMessageBox)
        save = box.button(QMessageBox.StandardButton.Save)
        yield from self.press(save)
        yield from self.wait(lambda: isinstance(modal(), QFileDialog), "the save dialog")
        yield from self.pump(0.3)
        yield from self.type(str(sheet))
        yield from self.key("Return")
        yield from self.wait(
            lambda: sheet.exists() and modal() is None, "the referral sheet to be written"
        )
        self.log("results: sheet written")
        yield from self.window_focus()  # no window manager gives the keyboard back
        self.log("results: finalise")
        if not res.finalise.isEnabled():
            yield from self.tab_to(lambda f: f is res.actions_taken, "the actions-taken box")
            yield from self.type("Protection lead called; child in safe room.")
        yield from self.press(res.finalise)
        yield from self.wait(lambda: w.stack.currentWidget() is w.home, "home after finalising", 60)
        self.log("results: finalised")
        self.seen["finalised"] = [[c.code, c.status] for c in w.services.vault.cases()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="en")
    parser.add_argument("--profile", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--provisioning", required=True)
    parser.add_argument("--shots")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") or shutil.which("xdotool") is None:
        print("needs an X display and xdotool", file=sys.stderr)
        return 2
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from PySide6.QtCore import QTimer

    from fieldscreen import crypto
    from fieldscreen.app import create_application, open_window

    # Light Argon2 parameters for the accounts this run creates: the journey is about the
    # screens, and the production cost (seconds per derivation on a busy two-core machine)
    # would be most of its time. The vault's own tests and benchmark P1 cover the real cost.
    crypto.permit_test_parameters(True)
    setattr(crypto.KdfParams, "default", crypto.KdfParams.for_tests)  # noqa: B010
    app = create_application()
    window = open_window(args.profile, args.lang)
    shots = Path(args.shots) if args.shots else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    driver = Driver(window, shots, args.lang)
    report = driver.seen
    sheet = Path(args.out).parent / f"referral-{args.lang}.pdf"

    def journey() -> Steps:
        yield from driver.first_run(Path(args.provisioning))
        yield from driver.start()
        yield from driver.form(idle_on_page=3)
        yield from driver.results(sheet)

    steps = journey()
    timer = QTimer()
    timer.setInterval(5)

    def finish(error: BaseException | None) -> None:
        driver.log(f"finish {error}")
        timer.stop()
        report["ok"] = error is None
        if error is None:
            from tests.journey.pdftext import pdf_text

            report["sheet_text"] = pdf_text(sheet.read_bytes())
        else:
            report["error"] = f"{type(error).__name__}: {error}"
            driver.log(report["error"])
            driver.grab("stuck")
        report["keys"] = driver.keys_sent
        report["tab_batches"] = driver.tab_batches
        report["seconds"] = round(time.monotonic() - driver.began, 1)
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
        window.services.ops.wait_idle(10_000)
        app.quit()

    def step() -> None:
        if running:  # a nested loop of the app's started inside a step: never re-enter
            return
        running.append(True)
        try:
            next(steps)
        except StopIteration:
            finish(None)
        except Exception as exc:  # the report says where it stopped
            finish(exc)
        finally:
            running.clear()

    running: list[bool] = []
    timer.timeout.connect(step)
    timer.start()
    app.exec()
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    status = main()
    # Straight out, without the interpreter's final garbage collection: PySide6 (6.x) may
    # abort there ("none_dealloc") after a long run with many widgets, which says nothing about
    # the journey. The report is written and the vault's work done by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
