from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from fieldscreen.errors import KnownError
from fieldscreen.settings import SETTINGS, Settings


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "settings.json")
    for spec in SETTINGS:
        assert settings.get(spec.name) == spec.default


def test_values_round_trip_and_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = Settings.load(path)
    settings.set("language", "es")
    settings.set("auto_lock_minutes", 3)
    settings.save()
    again = Settings.load(path)
    assert again.get("language") == "es"
    assert again.get("auto_lock_minutes") == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "value"),
    [("language", "fr"), ("auto_lock_minutes", 0), ("auto_lock_minutes", "5"), ("nope", 1)],
)
def test_invalid_values_are_refused_with_a_known_error(
    tmp_path: Path, name: str, value: object
) -> None:
    settings = Settings.load(tmp_path / "s.json")
    with pytest.raises(KnownError):
        settings.set(name, value)


def test_a_locked_policy_cannot_be_loosened(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = Settings.load(path)
    settings.lock("auto_lock_minutes", 2)
    settings.save()
    again = Settings.load(path)
    assert again.get("auto_lock_minutes") == 2
    with pytest.raises(KnownError) as caught:
        again.set("auto_lock_minutes", 30)
    assert caught.value.code == "setting-locked"
    with pytest.raises(KnownError):
        again.lock("server_url", "https://x")  # not lockable


def test_a_damaged_file_is_set_aside_and_defaults_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{ not json")
    settings = Settings.load(path)
    assert settings.get("language") == "en"
    assert settings.recovered_from is not None
    assert settings.recovered_from.read_text() == "{ not json"
    assert not path.exists()


def test_unknown_and_out_of_range_stored_values_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"values": {"future": 1, "auto_lock_minutes": 999}}))
    settings = Settings.load(path)
    assert settings.get("auto_lock_minutes") == 5
