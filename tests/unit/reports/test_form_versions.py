"""The catalogue of form versions the export reads records with."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldscreen.errors import KnownError
from fieldscreen.forms.convert import convert
from fieldscreen.forms.library import builtin_forms
from fieldscreen.reports.form_versions import FormCatalogue, load_form_bytes

FORM = """
| survey |
|        | type    | name   | label::English (en) | sensitivity |
|        | integer | nights | Nights travelled    | low         |

| settings |
|          | form_id | version   | default_language |
|          | fs_demo | {version} | English (en)     |
"""


def test_published_content_loads_as_markdown_or_workbook(tmp_path: Path) -> None:
    md = tmp_path / "fs_demo.md"
    md.write_text(FORM.format(version="7"), encoding="utf-8")
    xlsx = tmp_path / "fs_demo.xlsx"
    convert(md, xlsx)
    for path in (md, xlsx):
        form = load_form_bytes(path.read_bytes(), "fs demo/../x")
        assert (form.id, form.version) == ("fs_demo", "7")
    with pytest.raises(KnownError):
        load_form_bytes(b"| survey |\n| | nonsense |\n", "broken")


def test_versions_are_ordered_naturally_and_the_first_source_wins(tmp_path: Path) -> None:
    from fieldscreen.forms import load_form_text

    catalogue = FormCatalogue()
    for version in ("10", "2", "2026011501"):
        assert catalogue.add(load_form_text(FORM.format(version=version)), "folder")
    assert not catalogue.add(load_form_text(FORM.format(version="2")), "published")
    assert catalogue.origin[("fs_demo", "2")] == "folder"
    assert catalogue.versions("fs_demo") == ["2", "10", "2026011501"]
    assert catalogue["fs_demo"].version == "2026011501"  # as a mapping: the newest
    assert catalogue.get_version("fs_demo", "3") is None
    assert list(catalogue) == ["fs_demo"]
    assert len(catalogue) == 1


def test_builtin_published_and_folder_forms_together(tmp_path: Path) -> None:
    catalogue = FormCatalogue()
    catalogue.add_builtin()
    assert set(builtin_forms()) <= set(catalogue)
    catalogue.add_documents(
        [("fs_demo", FORM.format(version="1").encode()), ("bad", b"not a form")]
    )
    assert catalogue.get_version("fs_demo", "1") is not None
    assert catalogue.skipped == ["published form bad: does not load as a form"]
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "fs_demo_v0.md").write_text(FORM.format(version="0"), encoding="utf-8")
    (folder / "notes.txt").write_text("not a form", encoding="utf-8")
    (folder / "broken.md").write_text("| survey |\n", encoding="utf-8")
    catalogue.add_folder(folder)
    assert catalogue.versions("fs_demo") == ["0", "1"]
    assert len(catalogue.skipped) == 2
    assert catalogue.skipped[1].startswith("broken.md: ")
    assert str(tmp_path) not in catalogue.skipped[1]
    with pytest.raises(KnownError, match="cannot be read"):
        catalogue.add_folder(tmp_path / "missing")
