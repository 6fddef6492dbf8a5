"""The one passphrase prompt of both command lines: each caller's error tree, the option that
gives the passphrase from a file when there is no terminal, a new passphrase asked twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldscreen.prompt import ask_passphrase
from fieldscreen.sync.errors import ServerError
from fieldscreen.vault.errors import VaultError


def typed(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    asked: list[str] = []
    left: Iterator[str] = iter(answers)

    def getpass(prompt: str = "") -> str:
        asked.append(prompt)
        try:
            return next(left)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("getpass.getpass", getpass)
    return asked


def test_once_twice_and_no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = typed(monkeypatch, "correct horse")
    assert ask_passphrase("Passphrase: ", error=VaultError) == "correct horse"
    assert asked == ["Passphrase: "]
    asked = typed(monkeypatch, "correct horse", "correct horse")
    assert ask_passphrase("New: ", again="Again: ", error=VaultError) == "correct horse"
    assert asked == ["New: ", "Again: "]
    for tree, option in ((VaultError, "--duress-file"), (ServerError, "--passphrase-file")):
        typed(monkeypatch)  # the input ends at once (a script)
        with pytest.raises(tree) as ended:
            ask_passphrase("Passphrase: ", error=tree, option=option)
        assert (ended.value.code, ended.value.context) == (
            "passphrase-not-given",
            {"option": option},
        )
        typed(monkeypatch, "first")  # ends before the second
        with pytest.raises(tree) as ended:
            ask_passphrase("New: ", again="Again: ", error=tree, option=option)
        assert ended.value.code == "passphrase-not-given"


def test_two_that_differ_are_refused_with_the_callers_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    typed(monkeypatch, "one passphrase", "another one")
    with pytest.raises(VaultError) as refused:
        ask_passphrase("New: ", again="Again: ", error=VaultError)
    assert refused.value.code == "passphrase-confirm-differs"
    typed(monkeypatch, "one passphrase", "another one")
    weak = ServerError("server-passphrase-weak", minimum=12)
    with pytest.raises(ServerError) as refused_by_server:
        ask_passphrase("New: ", again="Again: ", error=ServerError, differs=weak)
    assert refused_by_server.value is weak
