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


def _no_terminal(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A command run as a script or a service runs it: no controlling terminal, nothing on
    standard input."""
    return subprocess.run(
        [sys.executable, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
        start_new_session=True,
    )


def test_a_passphrase_prompt_with_no_input_is_a_clear_error(tmp_path: Path) -> None:
    from fieldscreen import crypto
    from fieldscreen.paths import Paths
    from fieldscreen.vault.vault import Vault

    laptop = tmp_path / "laptop"
    crypto.permit_test_parameters(True)
    try:
        Vault.create(
            Paths.for_profile(laptop).ensure().vault_dir,
            admin_login="admin1",
            passphrase=b"a passphrase for this test",
            kdf=crypto.KdfParams.for_tests(),
        ).close()
    finally:
        crypto.permit_test_parameters(False)
    commands = {
        "device": ("-m", "fieldscreen", "--profile", str(laptop), "bundle", "export", "out.fsb"),
        "server": (
            "-m",
            "fieldscreen.sync.server.cli",
            "init-org",
            "--out",
            "keys",
            "--db",
            "s.db",
        ),
    }
    for name, command in commands.items():
        result = _no_terminal(*command, cwd=tmp_path)
        assert result.returncode == 1, (name, result.stderr)
        assert "No passphrase was given" in result.stderr, name
        assert "--passphrase-file" in result.stderr, name
        assert "Traceback" not in result.stderr, name
    assert not (tmp_path / "out.fsb").exists()
    assert not (tmp_path / "keys").exists()


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    """`fieldscreen status | head -1`: the pipe closes before everything is written."""
    commands = {
        "device": ("-m", "fieldscreen", "--profile", str(tmp_path / "p"), "status"),
        "server": ("-m", "fieldscreen.sync.server.cli", "stats", "--db", str(tmp_path / "s.db")),
    }
    for name, command in commands.items():
        # As from a terminal: standard output buffered (no PYTHONUNBUFFERED), so the broken
        # pipe may show only when the buffer is flushed.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        child = subprocess.Popen(
            [sys.executable, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert child.stdout is not None
        assert child.stderr is not None
        child.stdout.close()  # the reader is gone before the first line
        err = child.stderr.read().decode()
        child.stderr.close()
        assert child.wait(timeout=120) == 141, (name, err)
        assert err == "", name


def test_a_broken_pipe_with_no_real_stdout_still_ends_quietly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In process (an embedding script, these tests), stdout may be no file descriptor."""
    from fieldscreen.cli import _guarded

    def broken() -> int:
        raise BrokenPipeError

    assert _guarded(broken, "en", debug=False) == 141
    assert capsys.readouterr().err == ""
