"""Every form definition an export may need, by form id *and* version.

A sealed screening holds each form's saved state with the form id and version it was filled
with. The export reads it with exactly that definition, found among:

* the built-in forms (their current versions),
* the forms published to the server (every version ever published, signature checked),
* a folder of older versions the central team keeps (``--forms DIR``: ``*.md`` and ``*.xlsx``).

A file that does not load is noted in :attr:`FormCatalogue.skipped` (by file name) and the rest
carry on; a record whose form version is in none of them is reported as *could not decode*.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fieldscreen.errors import KnownError
from fieldscreen.forms import Form, load_form
from fieldscreen.reports.errors import ReportError

__all__ = ["FormCatalogue", "load_form_bytes"]

_ZIP_MAGIC = b"PK\x03\x04"


def load_form_bytes(content: bytes, name: str = "form") -> Form:
    """A form from a published document's content: an ``.xlsx`` workbook or Markdown tables.

    Raises:
        KnownError: the form engine's FormError when it does not load.
    """
    suffix = ".xlsx" if content.startswith(_ZIP_MAGIC) else ".md"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60] or "form"
    with tempfile.TemporaryDirectory(prefix="fieldscreen-form-") as tmp:
        path = Path(tmp) / f"{safe}{suffix}"
        path.write_bytes(content)
        return load_form(path)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions naturally: ``2`` < ``10``, ``2026010101`` < ``2026020101``."""
    parts: list[tuple[int, int | str]] = []
    for chunk in version.replace("-", ".").split("."):
        parts.append((0, int(chunk)) if chunk.isdigit() else (1, chunk))
    return tuple(parts)


@dataclass
class FormCatalogue(Mapping[str, Form]):
    """Forms by ``(form id, version)``; as a mapping, each form id's newest version.

    ``origin`` says where each version came from (``builtin``, ``published``, ``folder``);
    ``skipped`` lists the files that did not load, by name, with the reason.
    """

    forms: dict[tuple[str, str], Form] = field(default_factory=dict)
    origin: dict[tuple[str, str], str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, forms: Mapping[str, Form] | FormCatalogue) -> FormCatalogue:
        """A catalogue of ``forms`` (returned as is when it already is one)."""
        if isinstance(forms, FormCatalogue):
            return forms
        catalogue = cls()
        for form in forms.values():
            catalogue.add(form, "given")
        return catalogue

    def add(self, form: Form, origin: str) -> bool:
        """Add ``form`` unless that id and version is already known (the first source wins)."""
        key = (form.id, form.version)
        if key in self.forms:
            return False
        self.forms[key] = form
        self.origin[key] = origin
        return True

    def add_builtin(self) -> None:
        from fieldscreen.forms.library import builtin_forms

        for form in builtin_forms().values():
            self.add(form, "builtin")

    def add_documents(self, documents: Iterable[tuple[str, bytes]]) -> None:
        """Add published forms: ``(name, content)`` pairs whose signature was checked."""
        for name, content in documents:
            try:
                self.add(load_form_bytes(content, name), "published")
            except KnownError:
                self.skipped.append(f"published form {name}: does not load as a form")

    def add_folder(self, folder: Path) -> None:
        """Add every ``*.md`` and ``*.xlsx`` form in ``folder`` (not its subfolders).

        Raises:
            ReportError: ``export-forms-folder`` when the folder cannot be read.
        """
        if not folder.is_dir():
            raise ReportError("export-forms-folder", path=str(folder))
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in (".md", ".xlsx") or path.name.startswith((".", "~$")):
                continue
            try:
                self.add(load_form(path), "folder")
            except KnownError as error:
                self.skipped.append(f"{path.name}: {str(error).replace(str(folder), '')}")

    def get_version(self, form_id: str, version: str) -> Form | None:
        """The definition ``form_id`` had at ``version``, or None when none is known."""
        return self.forms.get((form_id, version))

    def versions(self, form_id: str) -> list[str]:
        """The known versions of ``form_id``, oldest first."""
        return sorted((v for f, v in self.forms if f == form_id), key=_version_key)

    def form_ids(self) -> list[str]:
        return sorted({f for f, _ in self.forms})

    # Mapping[str, Form]: the newest version of each form id.
    def __getitem__(self, form_id: str) -> Form:
        versions = self.versions(form_id)
        if not versions:
            raise KeyError(form_id)
        return self.forms[(form_id, versions[-1])]

    def __iter__(self) -> Iterator[str]:
        return iter(self.form_ids())

    def __len__(self) -> int:
        return len(self.form_ids())
