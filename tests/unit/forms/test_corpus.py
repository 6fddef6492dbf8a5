"""The public compatibility corpus: forms other tools accept, loaded and run here.

Point ``FIELDSCREEN_FORMS_CORPUS`` at a folder of XLSForms -- for example the ``tests`` folder
of pyxform's public repository (its ``example_xls`` and ``bug_example_xls`` workbooks; BSD
licence, kept outside this repository) -- and every ``.xlsx``, ``.xls`` and ``.md`` form under
it that pyxform converts is loaded and started. The figure is printed: converted by pyxform,
loaded and run, refused by name, crashed, and the slowest load. Crashes and hangs must be 0,
every refusal must name its sheet, and no form takes more than a few seconds. Without the variable the
test is skipped; ``test_compat.py`` covers each feature with forms written in the tests.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import pytest

from fieldscreen.forms import FormError, Session, load_form
from tests.unit.forms.helpers import NOW

CORPUS = os.environ.get("FIELDSCREEN_FORMS_CORPUS", "")


def _pyxform_converts(path: Path) -> bool:
    from pyxform.xls2xform import convert

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            convert(xlsform=str(path), validate=False)
    except Exception:
        return False
    return True


@pytest.mark.skipif(not CORPUS, reason="FIELDSCREEN_FORMS_CORPUS names no corpus folder")
def test_the_public_corpus_loads_or_is_refused_by_name() -> None:
    root = Path(CORPUS)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in {".xlsx", ".xls", ".md"})
    converted = loaded = refused = crashed = unplaced = 0
    slowest = 0.0
    reasons: list[str] = []
    for path in files:
        if path.name.lower().startswith("readme") or not _pyxform_converts(path):
            continue
        converted += 1
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                form = load_form(path)
            Session.start(form, "es", {}, clock=lambda: NOW)
            loaded += 1
        except FormError as error:
            refused += 1
            reasons.append(f"{path.relative_to(root)}: {error.detail[:90]}")
            unplaced += not error.sheet
        except Exception as error:  # counted, then failed below
            crashed += 1
            reasons.append(f"{path.relative_to(root)}: CRASH {type(error).__name__}")
        slowest = max(slowest, time.perf_counter() - started)
    share = 100.0 * loaded / converted if converted else 0.0
    print(
        f"\nforms corpus: {converted} converted by pyxform, {loaded} loaded and run "
        f"({share:.0f} %), {refused} refused by name, {crashed} crashed; "
        f"slowest load {slowest:.2f} s"
    )
    print("\n".join(reasons))
    assert converted > 0
    assert crashed == 0
    assert unplaced == 0
    # The bar is 2 s a form on a quiet machine; shared CI cores get a margin, a hang does not.
    assert slowest < 10.0
