"""Form titles in one language: each built-in form has a title per language
(``form_title`` and ``translated_title::Español (es)``), so the "added to this screening" notice
and page titles never mix English and Spanish."""

from __future__ import annotations

from fieldscreen.forms.library import builtin_forms
from fieldscreen.ui.engine import title_in


class Title:
    def __init__(self, en: str, es: str) -> None:
        self.texts = {"en": en, "es": es}

    def get(self, lang: str) -> str:
        return self.texts[lang]


def test_the_builtin_titles_show_one_language() -> None:
    forms = builtin_forms()
    assert len(forms) == 6
    for form in forms.values():
        en, es = form.title("en"), form.title("es")
        assert " / " not in en
        assert " / " not in es
        assert en != es
        assert title_in(form.title, "es") == es
    assert forms["fs_trafficking"].title("es") == "C. Indicadores de trata"
    assert forms["fs_trafficking"].title("en") == "C. Trafficking indicators"


def test_older_bilingual_titles_are_still_split() -> None:
    assert title_in(Title("A / B", "A / B"), "es") == "B"
    assert title_in(Title("Trafficking", "Trata"), "es") == "Trata"
    assert title_in(Title("A / B", "A / B (es)"), "en") == "A / B"
    assert title_in(Title("Plain", "Plain"), "es") == "Plain"
