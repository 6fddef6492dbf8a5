"""Form titles in one language: the built-in forms' bilingual titles are split per language,
so the "added to this screening" notice and page titles never mix English and Spanish."""

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
        en, es = title_in(form.title, "en"), title_in(form.title, "es")
        assert " / " not in en
        assert " / " not in es
        assert en != es
        assert en in form.title.get("en")
        assert es in form.title.get("en")
    assert title_in(forms["fs_trafficking"].title, "es") == "C. Indicadores de trata"
    assert title_in(forms["fs_trafficking"].title, "en") == "C. Trafficking indicators"


def test_titles_given_per_language_are_kept() -> None:
    assert title_in(Title("Trafficking", "Trata"), "es") == "Trata"
    assert title_in(Title("A / B", "A / B (es)"), "en") == "A / B"
    assert title_in(Title("Plain", "Plain"), "es") == "Plain"
