"""Keep the Qt translations in step with the code.

    python tools/i18n.py update   # rescan the UI code into the .ts files, then compile .qm files
    python tools/i18n.py check    # list untranslated or obsolete strings; exit 1 if any
    python tools/i18n.py apply FILE.json  # set translations from {"context": {"source": "text"}}
                                          # (a plural "%n" source takes a list: one text a form)

Translators edit ``resources/translations/fieldscreen_<lang>.ts`` with Qt Linguist
(``pyside6-linguist``) or any XML editor; ``update`` keeps what is already translated.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "resources" / "translations"
LANGS = ("es",)
BIN = Path(sys.executable).parent


def sources() -> list[str]:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "fieldscreen" / "ui").rglob("*.py"))
    return [*files, "fieldscreen/app.py"]


def ts_file(lang: str) -> Path:
    return TRANSLATIONS / f"fieldscreen_{lang}.ts"


def update() -> None:
    for lang in LANGS:
        subprocess.run(
            [
                str(BIN / "pyside6-lupdate"),
                *sources(),
                "-no-obsolete",
                "-locations",
                "none",
                "-source-language",
                "en",
                "-target-language",
                lang,
                "-ts",
                str(ts_file(lang)),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        compile_qm(lang)


def compile_qm(lang: str, out: Path | None = None) -> Path:
    target = out or ts_file(lang).with_suffix(".qm")
    subprocess.run(
        [str(BIN / "pyside6-lrelease"), str(ts_file(lang)), "-qm", str(target)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return target


def untranslated(lang: str) -> list[tuple[str, str]]:
    tree = ET.parse(ts_file(lang))
    missing = []
    for context in tree.getroot().iter("context"):
        name = context.findtext("name", "")
        for message in context.iter("message"):
            translation = message.find("translation")
            forms = [] if translation is None else translation.findall("numerusform")
            text = (
                all((f.text or "").strip() for f in forms)
                if forms
                else bool(translation is not None and (translation.text or "").strip())
            )
            if (
                translation is None
                or translation.get("type") in {"unfinished", "obsolete", "vanished"}
                or not text
            ):
                missing.append((name, message.findtext("source", "")))
    return missing


def apply(mapping_file: Path) -> None:
    mapping = json.loads(mapping_file.read_text(encoding="utf-8"))
    for lang in LANGS:
        path = ts_file(lang)
        tree = ET.parse(path)
        for context in tree.getroot().iter("context"):
            table = mapping.get(context.findtext("name", ""), {})
            for message in context.iter("message"):
                source = message.findtext("source", "")
                if source in table:
                    translation = message.find("translation")
                    if translation is None:
                        translation = ET.SubElement(message, "translation")
                    text = table[source]
                    if isinstance(text, list):  # numerus="yes": one <numerusform> a plural form
                        for old in list(translation):
                            translation.remove(old)
                        translation.text = None
                        for form in text:
                            ET.SubElement(translation, "numerusform").text = form
                    else:
                        translation.text = text
                    translation.attrib.pop("type", None)
        tree.write(path, encoding="utf-8", xml_declaration=True)
    update()  # back to lupdate's own layout (a small diff), and compiled


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    if argv[0] == "update":
        update()
        return 0
    if argv[0] == "apply":
        apply(Path(argv[1]))
        return 0
    if argv[0] == "check":
        bad = [(lang, ctx, src) for lang in LANGS for ctx, src in untranslated(lang)]
        for lang, ctx, src in bad:
            print(f"{lang}: {ctx}: {src!r} is not translated")
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
