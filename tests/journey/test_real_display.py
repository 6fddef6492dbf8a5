"""The specialist's day in a real window, in English and in Spanish: a keyboard-only screening
from first run to a finalised record, with the idle lock in the middle and the referral sheet
read back from its PDF.

The app runs in its own process on a real X display (Qt's xcb platform, Xvfb in CI: ``make
journey``) and every key goes through the X server (see :mod:`tests.journey.driver`). Without a
display (``make test`` on a machine without one) the test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from tests.journey.pdftext import squeeze

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.journey,
    pytest.mark.skipif(
        not os.environ.get("DISPLAY") or shutil.which("xdotool") is None,
        reason="needs an X display and xdotool: `make journey` runs it under xvfb-run",
    ),
]

#: What each language's run must show, in that language.
WORDS = {
    "en": {
        "warning": "FieldScreen locks in",
        "locked": ("locked itself", "saved"),
        "sheet": ("Referral sheet", "Case code:", "Confidential."),
    },
    "es": {
        "warning": "FieldScreen se bloquea en",
        "locked": ("se bloqueó por sí solo", "guardado"),
        "sheet": ("Hoja de referencia", "Código del caso:", "Confidencial."),
    },
}


def provisioning_file(folder: Path) -> Path:
    """The organisation's signed provisioning file: its keys, its server, one site in MX."""
    _, sealing_public = crypto.generate_sealing_keypair()
    signing_private, signing_public = crypto.generate_signing_keypair()
    _, receipt_public = crypto.generate_signing_keypair()
    content = Provisioning(
        organisation="Red de Albergues",
        server_url="https://sync.example.org",
        sealing_public_key=sealing_public,
        signing_public_key=signing_public,
        receipt_public_key=receipt_public,
        sites=(Site("tij1", "Tijuana 1", "MX"),),
        language="en",
        policies={},
    ).to_content()
    data = sign_document(
        "provisioning", "provisioning", "1", content, signing_private, signing_public
    ).to_bytes()
    path = folder / "fieldscreen-provisioning.json"
    path.write_bytes(data)
    return path


def run_journey(lang: str, folder: Path, shots: Path | None = None) -> dict:
    """Run the driver in its own process on the display; its report."""
    report = folder / "report.json"
    command = [
        sys.executable,
        "-m",
        "tests.journey.driver",
        "--lang",
        lang,
        "--profile",
        str(folder / "profile"),
        "--provisioning",
        str(provisioning_file(folder)),
        "--out",
        str(report),
    ]
    if shots is not None:
        command += ["--shots", str(shots)]
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    env.pop("FIELDSCREEN_PROFILE", None)
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert report.exists(), f"the journey left no report:\n{done.stderr[-4000:]}"
    seen = json.loads(report.read_text(encoding="utf-8"))
    assert seen["ok"], f"{seen.get('error')}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, done.stderr[-3000:]
    return seen


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_keyboard_only_screening_in_a_real_window(lang: str, tmp_path: Path) -> None:
    seen = run_journey(lang, tmp_path, _shots_dir())
    words = WORDS[lang]
    # first run: the organisation's file gave the site (and its country) and the key
    assert "Red de Albergues" in seen["provisioned"]
    assert seen["site"] == "tij1"
    pages = seen["pages"]
    assert pages[0].startswith("fs_consent:")
    assert any(p.startswith("fs_trafficking:") for p in pages), pages
    # the idle lock in the middle: warned with a countdown, kept open by a key, then locked;
    # what was typed as it locked reached nothing, and no failed unlock was counted
    assert seen["idle_warning"].startswith(words["warning"])
    assert seen["warning_kept_open"]
    assert seen["typed_into_lock"] == ""
    assert seen["failed_unlocks"] == 0
    assert all(w in seen["lock_note"] for w in words["locked"]), seen["lock_note"]
    assert seen["page_after_unlock"]
    # the referral sheet, read back from the PDF the app wrote
    text = squeeze(seen["sheet_text"])
    for expected in (*words["sheet"], seen["code"]):
        assert squeeze(expected) in text, (expected, seen["sheet_text"])
    # finalised: the record is in the vault's cases
    assert [code for code, _ in seen["finalised"]] == [seen["code"]]
    assert seen["seconds"] < 90, seen["seconds"]


def _shots_dir() -> Path | None:
    """``FIELDSCREEN_JOURNEY_SHOTS``: where the run saves its screenshots (``make
    screenshots`` points it at docs/screenshots/)."""
    folder = os.environ.get("FIELDSCREEN_JOURNEY_SHOTS")
    return Path(folder) if folder else None
