"""Every UI string is translated, and the compiled .qm files match the .ts sources."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools import i18n

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_no_untranslated_strings(lang: str) -> None:
    missing = i18n.untranslated(lang)
    assert not missing, f"{len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_the_ts_file_holds_every_string_in_the_code(lang: str, tmp_path: Path) -> None:
    fresh = tmp_path / f"fresh_{lang}.ts"
    subprocess.run(
        [
            str(i18n.BIN / "pyside6-lupdate"),
            *i18n.sources(),
            "-no-obsolete",
            "-locations",
            "none",
            "-ts",
            str(fresh),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    import xml.etree.ElementTree as ET

    def keys(path: Path) -> set[tuple[str, str]]:
        root = ET.parse(path).getroot()
        return {
            (c.findtext("name", ""), m.findtext("source", ""))
            for c in root.iter("context")
            for m in c.iter("message")
        }

    missing = keys(fresh) - keys(i18n.ts_file(lang))
    assert not missing, f"run 'make translations': {sorted(missing)[:5]}"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_the_compiled_qm_is_up_to_date(lang: str, tmp_path: Path) -> None:
    compiled = i18n.compile_qm(lang, tmp_path / "check.qm")
    assert compiled.read_bytes() == i18n.ts_file(lang).with_suffix(".qm").read_bytes(), (
        "run 'make translations'"
    )
