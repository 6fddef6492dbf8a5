"""Device settings, declared as data.

Each :class:`Setting` names its type, default, bounds, who may change it and a help text; the
settings dialog, the documentation and the validation are all driven by :data:`SETTINGS`, so a
new setting is one entry here. Values live in ``settings.json`` in the profile's config folder,
which holds no personal data (site ids and a server URL at most). An organisation's provisioning
file may *lock* a setting to a value; a locked setting cannot be changed on the device.

Writes are atomic (temporary file, fsync, rename), so a crash leaves the old or the new file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fieldscreen.errors import KnownError, SettingsError
from fieldscreen.paths import atomic_write_bytes

__all__ = ["SETTINGS", "Setting", "Settings", "atomic_write_bytes"]

Role = Literal["user", "admin"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name, type, default, bounds and help text."""

    name: str
    type: type[bool] | type[int] | type[str]
    default: bool | int | str
    help: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    #: A regular expression a text value must match whole (empty: any text).
    pattern: str = ""
    pattern_help: str = ""
    #: Who may change it in the app: every user, or admins only.
    changed_by: Role = "user"
    #: Whether a provisioning file may lock it.
    lockable: bool = False

    def validate(self, value: object) -> bool | int | str:
        """Return ``value`` checked against type and bounds, or raise ``setting-invalid``."""
        if self.type is bool:
            if not isinstance(value, bool):
                raise SettingsError("setting-invalid", name=self.name, reason="expected yes or no")
            return value
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise SettingsError(
                    "setting-invalid", name=self.name, reason="expected a whole number"
                )
            if self.minimum is not None and value < self.minimum:
                raise SettingsError(
                    "setting-invalid", name=self.name, reason=f"at least {self.minimum}"
                )
            if self.maximum is not None and value > self.maximum:
                raise SettingsError(
                    "setting-invalid", name=self.name, reason=f"at most {self.maximum}"
                )
            return value
        if not isinstance(value, str):
            raise SettingsError("setting-invalid", name=self.name, reason="expected text")
        if self.choices and value not in self.choices:
            raise SettingsError(
                "setting-invalid", name=self.name, reason="one of " + ", ".join(self.choices)
            )
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise SettingsError("setting-invalid", name=self.name, reason=self.pattern_help)
        return value


SETTINGS: tuple[Setting, ...] = (
    Setting("language", str, "en", "Language of the app and of the forms.", choices=("en", "es")),
    Setting(
        "auto_lock_minutes",
        int,
        5,
        "Lock the app after this many minutes without input.",
        minimum=1,
        maximum=60,
        lockable=True,
    ),
    Setting(
        "interview_lock_minutes",
        int,
        5,
        "While a screening is open (its form or its results), lock after this many minutes "
        "without input instead: a child may talk for minutes without a key being pressed. "
        "Never shorter than auto_lock_minutes.",
        minimum=1,
        maximum=60,
        lockable=True,
    ),
    Setting(
        "follow_up_window_days",
        int,
        7,
        "Days a finalised screening stays readable on this laptop for follow-up before only "
        "its case card is kept.",
        minimum=0,
        maximum=90,
        lockable=True,
    ),
    Setting(
        "travel_mode_allowed",
        bool,
        True,
        "Whether users may switch on travel mode (seal and purge every readable copy).",
        changed_by="admin",
        lockable=True,
    ),
    Setting(
        "background_sync",
        bool,
        True,
        "Send finalised screenings in the background whenever the server can be reached.",
        lockable=True,
    ),
    Setting("server_url", str, "", "Address of the organisation's server.", changed_by="admin"),
    Setting("site_id", str, "", "The site this laptop works at.", changed_by="admin"),
    Setting(
        "site_country",
        str,
        "",
        "Two-letter country code of the site, for statutory deadlines when no provisioning "
        "file gives the site's country.",
        pattern="([A-Z]{2})?",
        pattern_help="a two-letter country code such as MX, or nothing",
        changed_by="admin",
    ),
    Setting(
        "emergency_contacts",
        str,
        "",
        "The organisation's own emergency contacts (name and number, separated by ;), shown "
        "with the emergency steps of every act-now result, with or without a service directory.",
        changed_by="admin",
        lockable=True,
    ),
    Setting(
        "clipboard_clear_seconds",
        int,
        30,
        "Clear the clipboard this many seconds after case text was copied.",
        minimum=5,
        maximum=300,
        lockable=True,
    ),
    Setting(
        "allow_plain_http",
        bool,
        False,
        "Allow an unencrypted http:// server address other than this computer (testing only).",
        changed_by="admin",
        lockable=True,
    ),
)

_BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}


def _spec(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise SettingsError("setting-unknown", name=name) from None


@dataclass
class Settings:
    """The settings of one profile: declared defaults, stored values, organisation locks."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    locked: dict[str, Any] = field(default_factory=dict)
    #: Set when the file on disk could not be read and was moved aside.
    recovered_from: Path | None = None

    @classmethod
    def load(cls, path: Path) -> Settings:
        """Read ``path``; a missing file gives defaults, a damaged one is set aside."""
        settings = cls(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            values = raw.get("values", {})
            locked = raw.get("locked", {})
            if not isinstance(values, dict) or not isinstance(locked, dict):
                raise TypeError("settings.json must hold objects")
        except FileNotFoundError:
            return settings
        except (ValueError, TypeError, AttributeError, UnicodeDecodeError, RecursionError):
            aside = path.with_suffix(".damaged")
            os.replace(path, aside)
            settings.recovered_from = aside
            return settings
        for name, value in values.items():
            if name in _BY_NAME:  # settings of a newer or older version are ignored, not fatal
                try:
                    settings.values[name] = _BY_NAME[name].validate(value)
                except KnownError:
                    continue
        for name, value in locked.items():
            if name in _BY_NAME and _BY_NAME[name].lockable:
                try:
                    settings.locked[name] = _BY_NAME[name].validate(value)
                except KnownError:
                    continue
        return settings

    def get(self, name: str) -> Any:
        spec = _spec(name)
        if name in self.locked:
            return self.locked[name]
        return self.values.get(name, spec.default)

    def is_locked(self, name: str) -> bool:
        _spec(name)
        return name in self.locked

    def set(self, name: str, value: object) -> None:
        """Validate and store one value (persist with :meth:`save`)."""
        spec = _spec(name)
        if name in self.locked:
            raise SettingsError("setting-locked", name=name)
        self.values[name] = spec.validate(value)

    def lock(self, name: str, value: object) -> None:
        """Fix a setting to ``value`` (provisioning only)."""
        spec = _spec(name)
        if not spec.lockable:
            raise SettingsError(
                "setting-invalid", name=name, reason="this setting cannot be locked"
            )
        self.locked[name] = spec.validate(value)

    def save(self) -> None:
        payload = {"values": self.values, "locked": self.locked}
        data = json.dumps(payload, indent=2, sort_keys=True).encode("utf-8")
        atomic_write_bytes(self.path, data)
