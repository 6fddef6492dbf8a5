from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldscreen import FORM_PACK_VERSION, __version__
from fieldscreen.cli import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "fieldscreen", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_version_names_app_forms_and_protocol() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout
    assert FORM_PACK_VERSION in result.stdout
    assert "protocol v1" in result.stdout


def test_without_a_display_the_gui_explains_instead_of_crashing(profile: Path) -> None:
    env = {"QT_QPA_PLATFORM": "", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    result = run_cli(env=env)
    assert result.returncode == 2
    assert "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr
    spanish = run_cli("--lang", "es", env=env)
    assert "pantalla virtual" in spanish.stderr


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["no-such-command"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_self_test_passes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {"TMPDIR": str(tmp_path)}
    result = run_cli("--self-test", env=env)
    assert result.returncode == 0, result.stderr
    assert "self-test passed" in result.stdout
    leftover = [p for p in tmp_path.iterdir() if p.name.startswith("fieldscreen-selftest-")]
    assert leftover == []


def test_the_package_version_is_the_project_version() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == __version__
