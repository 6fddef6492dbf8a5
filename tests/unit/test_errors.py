from __future__ import annotations

import string
from collections.abc import Callable

import pytest

from fieldscreen.errors import CATALOGUE, LANGUAGES, BugError, KnownError, render


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_message_exists_in_every_language_with_the_same_placeholders(code: str) -> None:
    message = CATALOGUE[code]
    texts = {lang: message.text(lang) for lang in LANGUAGES}
    assert all(t.strip() for t in texts.values())
    assert texts["en"] != texts["es"], "the Spanish text is a copy of the English one"
    assert _fields(texts["en"]) == _fields(texts["es"])


def test_known_error_renders_in_the_users_language() -> None:
    error = KnownError("setting-locked", name="auto_lock_minutes")
    assert "cannot be changed" in str(error)
    assert "no se puede cambiar" in error.message("es")


def test_unknown_code_or_missing_context_is_a_bug_not_a_user_message() -> None:
    with pytest.raises(BugError):
        render("no-such-code")
    with pytest.raises(BugError):
        render("setting-locked")


def test_no_code_is_written_twice_in_the_catalogue() -> None:
    """A dict literal keeps the last of two equal keys silently; a duplicate is a lost message."""
    import ast
    import collections
    from pathlib import Path

    import fieldscreen.errors

    tree = ast.parse(Path(fieldscreen.errors.__file__).read_text(encoding="utf-8"))
    literal = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "CATALOGUE"
    )
    assert isinstance(literal, ast.Dict)
    keys = [k.value for k in literal.keys if isinstance(k, ast.Constant)]
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []
    assert len(keys) == len(CATALOGUE)


def test_both_command_lines_share_one_guard(capsys: pytest.CaptureFixture[str]) -> None:
    """``fieldscreen`` and ``fieldscreen-server`` end a failure the same way: one line named
    after the program, in the user's language, an exit status that says which kind."""
    from fieldscreen.errors import run_guarded

    def refused() -> int:
        raise KnownError("passphrase-not-given", option="--passphrase-file")

    def broken() -> int:
        raise ValueError("an invariant of ours")

    for program, lang in (("fieldscreen", "es"), ("fieldscreen-server", "en")):

        def guard(run: Callable[[], int], program: str = program, lang: str = lang) -> int:
            return run_guarded(run, program=program, lang=lang, debug=False, advice="Run again.")

        assert guard(lambda: 3) == 3
        assert guard(refused) == 1
        said = render("passphrase-not-given", lang, option="--passphrase-file")
        assert capsys.readouterr().err == f"{program}: {said}\n"
        assert guard(broken) == 70
        err = capsys.readouterr().err
        assert err == f"{program}: internal error (ValueError). Run again.\n"
        assert "invariant" not in err  # no traceback, no text of the exception
        with pytest.raises(ValueError):
            run_guarded(broken, program=program, lang=lang, debug=True, advice="")
