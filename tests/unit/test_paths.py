from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from fieldscreen.errors import KnownError
from fieldscreen.paths import Paths, resource_path


def test_profile_puts_everything_under_one_folder(tmp_path: Path) -> None:
    paths = Paths.for_profile(tmp_path / "p").ensure()
    for folder in paths.roots:
        assert tmp_path / "p" in folder.parents
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_environment_override_is_used_by_default(profile: Path) -> None:
    assert Paths.default().data == profile.resolve() / "data"


def test_default_paths_follow_the_platform_when_not_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FIELDSCREEN_PROFILE")
    paths = Paths.default()
    assert "FieldScreen" in str(paths.data)


def test_resources_are_found_from_source_and_when_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resource_path("icons", "fieldscreen.svg").is_file()
    bundle = tmp_path / "bundle"
    frozen = bundle / "fieldscreen" / "_resources" / "icons"
    frozen.mkdir(parents=True)
    (frozen / "only-frozen.svg").write_text("<svg/>")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert resource_path("icons", "only-frozen.svg") == frozen / "only-frozen.svg"


def test_a_missing_resource_is_a_known_error() -> None:
    with pytest.raises(KnownError) as caught:
        resource_path("icons", "missing.svg")
    assert "Reinstall" in str(caught.value)
