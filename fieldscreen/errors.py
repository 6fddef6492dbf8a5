"""The error tree of FieldScreen, and the catalogue of messages users can meet.

Two kinds of failure are kept apart (the distinction qutebrowser draws in ``misc/sql.py``):

* :class:`KnownError` -- the environment failed or the user asked for something that cannot be
  done: a wrong passphrase, a full disk, an unreachable server, a malformed form. The app shows a
  calm message that says what happened and what to do; the command line prints one line.
* :class:`BugError` -- an invariant of our own code broke. The app shows a crash dialog and writes
  a crash report that contains no personal data.

Every :class:`KnownError` carries a stable ``code`` from :data:`CATALOGUE`. The same codes are used
by the server in its problem responses, so that the UI can render a server's refusal in the user's
language. ``str(error)`` is always presentable to a user (in English); ``error.message(lang)``
renders it in another language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CATALOGUE",
    "LANGUAGES",
    "BugError",
    "FieldScreenError",
    "KnownError",
    "Message",
    "render",
]

#: Languages every message must exist in.
LANGUAGES = ("en", "es")


@dataclass(frozen=True, slots=True)
class Message:
    """One catalogue entry: what happened and what to do, in every language."""

    en: str
    es: str

    def text(self, lang: str) -> str:
        return self.es if lang == "es" else self.en


#: Stable code -> message. Placeholders use ``str.format`` names; values come from the error's
#: context and must never contain answers, names or keys.
CATALOGUE: Mapping[str, Message] = {
    "unknown-command": Message(
        en="Unknown command {command!r}. Run 'fieldscreen --help' to see the commands.",
        es="Comando desconocido {command!r}. Ejecute 'fieldscreen --help' para ver los comandos.",
    ),
    "no-display": Message(
        en=(
            "No display was found, so the window cannot open. On a server or a machine without "
            "a screen, run it under a virtual display: 'xvfb-run -a make run' (Debian package "
            "'xvfb'), or use the headless commands listed by 'fieldscreen --help'."
        ),
        es=(
            "No se encontró una pantalla, así que la ventana no puede abrirse. En un servidor o "
            "en un equipo sin pantalla, ejecútelo en una pantalla virtual: 'xvfb-run -a make run' "
            "(paquete de Debian 'xvfb'), o use los comandos sin ventana de 'fieldscreen --help'."
        ),
    ),
    "profile-not-writable": Message(
        en="The data folder {path} cannot be written. Choose another folder with --profile.",
        es="No se puede escribir en la carpeta de datos {path}. Elija otra con --profile.",
    ),
    "resource-missing": Message(
        en="A file the app needs is missing: {name}. Reinstall FieldScreen.",
        es="Falta un archivo que la aplicación necesita: {name}. Reinstale FieldScreen.",
    ),
    "setting-unknown": Message(
        en="There is no setting called {name!r}.",
        es="No existe un ajuste llamado {name!r}.",
    ),
    "setting-invalid": Message(
        en="The value for {name!r} is not valid: {reason}",
        es="El valor de {name!r} no es válido: {reason}",
    ),
    "setting-locked": Message(
        en="{name!r} is set by your organisation and cannot be changed on this laptop.",
        es="{name!r} lo fija su organización y no se puede cambiar en esta computadora.",
    ),
    "settings-corrupt": Message(
        en=(
            "The settings file {path} could not be read and was set aside; defaults are in use. "
            "Check the settings before you continue."
        ),
        es=(
            "No se pudo leer el archivo de ajustes {path} y se apartó; se usan los valores "
            "predeterminados. Revise los ajustes antes de continuar."
        ),
    ),
    "disk-full": Message(
        en=(
            "The disk is full, so nothing was changed. Free some space (empty the Downloads "
            "folder or the recycle bin) and try again; your earlier answers are safe."
        ),
        es=(
            "El disco está lleno, así que no se cambió nada. Libere espacio (vacíe Descargas o "
            "la papelera) e inténtelo de nuevo; sus respuestas anteriores están a salvo."
        ),
    ),
    "io-error": Message(
        en="The disk reported an error, so nothing was changed ({detail}). Try again.",
        es="El disco informó un error, así que no se cambió nada ({detail}). Inténtelo de nuevo.",
    ),
    "passphrase-file-unreadable": Message(
        en="The passphrase file {path} cannot be read.",
        es="No se puede leer el archivo de frase de acceso {path}.",
    ),
    "unlock-failed": Message(
        en=(
            "That user and passphrase did not open FieldScreen. Check the user, the keyboard "
            "language and Caps Lock, then try again."
        ),
        es=(
            "Ese usuario y frase de acceso no abrieron FieldScreen. Revise el usuario, el idioma "
            "del teclado y las mayúsculas, e inténtelo de nuevo."
        ),
    ),
    "vault-locked": Message(
        en="FieldScreen is locked, so nothing was read or changed. Unlock it and try again.",
        es=(
            "FieldScreen está bloqueado, así que no se leyó ni cambió nada. Desbloquéelo e "
            "inténtelo de nuevo."
        ),
    ),
    "self-test-failed": Message(
        en="The self-test failed at step {step!r}: {detail}",
        es="La autoprueba falló en el paso {step!r}: {detail}",
    ),
}


def render(code: str, lang: str = "en", **context: Any) -> str:
    """Render the catalogue message ``code`` in ``lang`` with ``context`` filled in."""
    try:
        template = CATALOGUE[code].text(lang)
    except KeyError:
        raise BugError(f"no catalogue message for code {code!r}") from None
    try:
        return template.format(**context)
    except (KeyError, IndexError) as exc:
        raise BugError(f"message {code!r} is missing context {exc}") from None


class FieldScreenError(Exception):
    """Root of every error FieldScreen raises on purpose."""


class KnownError(FieldScreenError):
    """The environment failed or the request cannot be met; show the user what to do.

    Subsystems subclass this (``VaultError``, ``FormError``, ``SyncError`` ...) and either use a
    catalogue ``code`` or override :meth:`message` when their text is built elsewhere (a form
    error names a file, sheet, row and column).
    """

    #: Process exit status used by the command line for this kind of failure.
    exit_code = 1

    def __init__(self, code: str, /, **context: Any) -> None:
        self.code = code
        self.context = context
        super().__init__(code)

    def message(self, lang: str = "en") -> str:
        return render(self.code, lang, **self.context)

    def __str__(self) -> str:
        return self.message("en")


class BugError(FieldScreenError):
    """An internal invariant failed. Never shown raw to a user; reported as a crash."""
