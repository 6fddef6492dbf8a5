"""The public compatibility corpus: forms other tools accept, loaded and run here.

The corpus is committed under ``data/pyxform/`` (pyxform's BSD licence in ``LICENSE`` there):

* ``example_xls/`` and ``bug_example_xls/`` -- pyxform's own example workbooks, those that
  pyxform converts, with the CSV files beside them;
* ``tables.json`` -- the forms of pyxform's test tables: every ``md=`` table its test suite
  gives to ``assertPyxformXform``, deduplicated, kept when pyxform converts it.

Every form is loaded and started as ``fieldscreen forms run`` would, and the figure is printed:
loaded and run, refused by name, crashed, and the slowest load, with the refusals counted by
what they name. Crashes must be 0, every refusal must name its sheet, and no form takes more
than a few seconds. The loaded counts may only go up: raise ``FLOOR`` when a change loads more.

``FIELDSCREEN_FORMS_CORPUS`` may also name a folder of other XLSForms (``.xlsx``, ``.xls``,
``.md``); those that pyxform converts are run the same way. ``FIELDSCREEN_FORMS_CORPUS_LIST=1``
prints each refusal.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fieldscreen.forms import Form, FormError, Session, load_form, load_form_text
from fieldscreen.forms.cli import run_result
from fieldscreen.forms.errors import designer_codes, designer_text
from tests.unit.forms.helpers import NOW

DATA = Path(__file__).parent / "data" / "pyxform"
CORPUS = os.environ.get("FIELDSCREEN_FORMS_CORPUS", "")
LIST = os.environ.get("FIELDSCREEN_FORMS_CORPUS_LIST") == "1"
SUFFIXES = {".xlsx", ".xls", ".md"}

#: Why a form is refused, by the codes of its message (fieldscreen.forms.errors.DESIGNER).
KINDS = {
    "offline": {  # a feature a laptop cannot honour offline, by design
        "why-background-audio", "why-last-saved", "why-randomize",
    },
    "file": {  # the form names a file it does not ship with it
        "list-file-missing", "pulldata-missing", "external-missing",
        "deadlines-file-missing", "list-value-column", "search-missing", "search-column",
        "entity-list-missing",
    },
    "invalid": {  # a mistake ODK rejects too
        "unexpected-character", "unclosed-quote", "dollar-paren", "unexpected", "expected-found", "expected-name",
        "ref-unknown", "default-unfit", "function-unknown", "not-an-axis",
    },
}  # fmt: skip

#: Forms of each part that loaded when the count was last raised (a ratchet, never lowered).
FLOOR = {"examples": 52, "tables": 741}
#: The list files the tables name, and those one example workbook names (pyxform only refers
#: to them, so its tests ship none and its repository lacks those).
FILES = DATA / "files"
DOC = Path(__file__).resolve().parents[3] / "docs" / "forms.md"


@dataclass
class Figure:
    part: str
    forms: int = 0
    loaded: int = 0
    refused: int = 0
    #: Refused forms that pyxform itself does not convert (validate=False): outside the bar.
    outside: int = 0
    crashed: int = 0
    unplaced: int = 0
    spanish: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)

    def run(
        self, label: str, load: Callable[[], Form], converts: Callable[[], bool] | None = None
    ) -> None:
        self.forms += 1
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                form = load()
            session = Session.start(form, "es", {}, clock=lambda: NOW)
            json.dumps(run_result(session))  # what forms run --json prints
            self.loaded += 1
        except FormError as error:
            self.refused += 1
            self.outside += converts is not None and not converts()
            self.unplaced += not error.sheet
            self.spanish += designer_text(error.detail, "es") is not None
            codes = set(designer_codes(error.detail))
            kind = next((k for k, known in KINDS.items() if codes & known), "other")
            self.kinds[kind] += 1
            self.reasons[_reason(error.detail)] += 1
            self.lines.append(f"{label}: {error.location}: {error.detail}")
        except Exception as error:  # counted, then failed below
            self.crashed += 1
            self.lines.append(f"{label}: CRASH {type(error).__name__}: {error}")
        self.slowest = max(self.slowest, time.perf_counter() - started)

    def report(self) -> str:
        share = 100.0 * self.loaded / self.forms if self.forms else 0.0
        text = (
            f"\nforms corpus, {self.part}: {self.forms} forms pyxform converts, {self.loaded} "
            f"loaded and run ({share:.1f} %), {self.refused} refused by name, {self.crashed} "
            f"crashed; slowest load {self.slowest:.2f} s; {self.spanish} of the refusals in "
            f"Spanish too (the others are pyxform's own words)"
        )
        converted = self.forms - self.outside
        text += (
            f"\n  of the forms pyxform converts: loaded {self.loaded} of {converted} "
            f"({100.0 * self.loaded / converted if converted else 0.0:.1f} %); "
            f"{self.outside} refused that pyxform refuses too (outside the bar)"
        )
        honoured = self.loaded + self.kinds["offline"]
        text += (
            f"\n  loaded, or refused for a feature a laptop cannot honour offline: {honoured} "
            f"({100.0 * honoured / self.forms if self.forms else 0.0:.1f} %)"
        )
        text += (
            f"\n  refused: {self.kinds['offline']} for a feature a laptop cannot honour offline, "
            f"{self.kinds['file']} for a file the form names and does not ship, "
            f"{self.kinds['invalid']} for a mistake ODK rejects too, "
            f"{self.kinds['other']} for something not supported here"
        )
        refusals = "".join(f"\n  {n:4d}  {why}" for why, n in self.reasons.most_common())
        crashes = "".join(f"\n  {line}" for line in self.lines if ": CRASH " in line)
        listed = "".join(f"\n  {line}" for line in self.lines) if LIST else ""
        return text + refusals + crashes + listed


def _reason(detail: str) -> str:
    """A refusal's message without its names, so the same refusal counts once."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\$\{[^}]*\}|\b\d+\b", "…", detail)
    return text[:110]


def _examples(root: Path, lists: Path | None = None) -> Iterator[tuple[str, Callable[[], Form]]]:
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES):
        if not path.name.lower().startswith("readme") and FILES not in path.parents:
            yield str(path.relative_to(root)), functools.partial(load_form, path, lists)


def _tables() -> Iterator[tuple[str, Callable[[], Form]]]:
    document = json.loads((DATA / "tables.json").read_text(encoding="utf-8"))
    for entry in document["forms"]:
        md = entry["md"]
        yield entry["test"], functools.partial(load_form_text, md, "test_name.md", FILES)


def _converts(part: str, label: str) -> Callable[[], bool]:
    """Whether pyxform itself converts the form (validate=False): asked of a refused form."""
    if part == "examples":
        return functools.partial(_pyxform_converts, DATA / label)
    md = next(e["md"] for e in _table_entries() if e["test"] == label)
    return functools.partial(_pyxform_converts, md.encode("utf-8"))


@functools.cache
def _table_entries() -> tuple[dict[str, str], ...]:
    document = json.loads((DATA / "tables.json").read_text(encoding="utf-8"))
    return tuple(document["forms"])


def _check(figure: Figure, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(figure.report())
    assert figure.forms > 0
    assert figure.crashed == 0, [line for line in figure.lines if ": CRASH " in line]
    assert figure.unplaced == 0
    # The bar is 2 s a form on a quiet machine; shared CI cores get a margin, a hang does not.
    assert figure.slowest < 10.0


@pytest.mark.parametrize("part", ["examples", "tables"])
def test_the_committed_corpus_loads_or_is_refused_by_name(
    part: str, capsys: pytest.CaptureFixture[str]
) -> None:
    figure = Figure(part)
    forms = _examples(DATA, FILES) if part == "examples" else _tables()
    for label, load in forms:
        figure.run(label, load, _converts(part, label))
    _check(figure, capsys)
    assert figure.loaded >= FLOOR[part], figure.report()
    assert _documented(part) == _measured(figure), "docs/forms.md's corpus figures are stale"


def _documented(part: str) -> dict[str, int]:
    """The figures docs/forms.md gives for the part (its paragraph on the corpus)."""
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    loaded = re.search(r"(\d+) of the (\d+) workbooks and (\d+) of the (\d+) tables load", text)
    assert loaded, "docs/forms.md no longer gives the corpus figures"
    outside = re.search(
        r"pyxform itself converts (\d+) of the (\d+) workbooks and (\d+) of the (\d+) "
        r"tables refused here",
        text,
    )
    assert outside, "docs/forms.md no longer says which refused forms pyxform converts"
    if part == "examples":
        return {
            "loaded": int(loaded[1]),
            "forms": int(loaded[2]),
            "converted": int(loaded[2]) - int(outside[2]) + int(outside[1]),
        }
    kinds = re.search(
        r"Of the (\d+) tables refused, (\d+) use a feature that cannot be honoured offline .*?, "
        r"(\d+) name a CSV, XML or GeoJSON file .*?, (\d+) hold a mistake ODK rejects too, and "
        r"(\d+) uses? something not supported here",
        text,
    )
    assert kinds, "docs/forms.md no longer counts the tables refused by kind"
    names = ("refused", "offline", "file", "invalid", "other")
    return {
        "loaded": int(loaded[3]),
        "forms": int(loaded[4]),
        "converted": int(loaded[4]) - int(outside[4]) + int(outside[3]),
        **{name: int(kinds[i]) for i, name in enumerate(names, start=1)},
    }


def _measured(figure: Figure) -> dict[str, int]:
    found = {
        "loaded": figure.loaded,
        "forms": figure.forms,
        "converted": figure.forms - figure.outside,
    }
    if figure.part == "tables":
        found["refused"] = figure.refused
        found.update({kind: figure.kinds[kind] for kind in ("offline", "file", "invalid", "other")})
    return found


def test_the_corpus_keeps_its_licence_note() -> None:
    document = json.loads((DATA / "tables.json").read_text(encoding="utf-8"))
    assert "pyxform" in document["source"] and "LICENSE" in document["licence"]
    assert "Redistributions of source code" in (DATA / "LICENSE").read_text(encoding="utf-8")


def _pyxform_converts(source: Path | bytes) -> bool:
    """Whether pyxform converts a workbook (a path) or a Markdown table (its bytes)."""
    from pyxform.xls2xform import convert

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if isinstance(source, bytes):
                convert(xlsform=source, file_type=".md", form_name="test_name", validate=False)
            else:
                convert(xlsform=str(source), validate=False)
    except Exception:
        return False
    return True


@pytest.mark.skipif(not CORPUS, reason="FIELDSCREEN_FORMS_CORPUS names no corpus folder")
def test_another_corpus_loads_or_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    figure = Figure(CORPUS)
    for label, load in _examples(Path(CORPUS)):
        if _pyxform_converts(Path(CORPUS) / label):
            figure.run(label, load)
    _check(figure, capsys)
