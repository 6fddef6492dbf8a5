from __future__ import annotations

import string

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
