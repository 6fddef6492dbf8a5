"""The only place that computes where FieldScreen keeps its files.

A *profile* is one folder tree holding everything a device writes: the vault, settings, logs,
cache and the sync outbox. By default it follows the platform's conventions (through
``platformdirs``); ``--profile DIR`` (or the ``FIELDSCREEN_PROFILE`` environment variable) puts
all of it under ``DIR`` instead, which tests and coordinators with several laptops' data use.

Resources (translations, icons, stylesheets, samples) are looked up in this order:

1. a frozen build: ``<bundle>/fieldscreen/_resources`` inside PyInstaller's extraction folder;
2. an installed wheel: ``fieldscreen/_resources`` (the build maps the top-level ``resources/``
   folder there);
3. a source checkout: the repository's top-level ``resources/`` folder.

Every folder we create is 0700 and every file 0600 (see :func:`private_umask`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from fieldscreen.errors import DeviceError

__all__ = [
    "APP_NAME",
    "PROVISIONING_FILENAME",
    "Paths",
    "atomic_write_bytes",
    "ensure_private_dir",
    "private_umask",
    "provisioning_candidates",
    "resource_path",
]

APP_NAME = "FieldScreen"
PROFILE_ENV = "FIELDSCREEN_PROFILE"
#: Name of the signed provisioning file IT places beside the app (``fieldscreen-server
#: provision-file`` writes it; any name works when it is chosen in the first-run dialog).
PROVISIONING_FILENAME = "fieldscreen-provisioning.json"

_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Paths:
    """Folders of one profile. Build with :meth:`default` or :meth:`for_profile`."""

    data: Path
    config: Path
    cache: Path
    logs: Path

    @classmethod
    def default(cls) -> Paths:
        """The user's platform folders, unless ``FIELDSCREEN_PROFILE`` names a profile."""
        override = os.environ.get(PROFILE_ENV)
        if override:
            return cls.for_profile(Path(override))
        return cls(
            data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def for_profile(cls, root: Path) -> Paths:
        """Everything under one folder (``--profile DIR``)."""
        root = root.expanduser().resolve()
        return cls(
            data=root / "data", config=root / "config", cache=root / "cache", logs=root / "logs"
        )

    @classmethod
    def resolve(cls, profile: str | os.PathLike[str] | None) -> Paths:
        return cls.for_profile(Path(profile)) if profile else cls.default()

    @property
    def vault_dir(self) -> Path:
        """The encrypted vault's folder: the app and every headless command open this one."""
        return self.data / "vault"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def roots(self) -> tuple[Path, ...]:
        """Every folder of the profile (the canary scans walk these)."""
        return (self.data, self.config, self.cache, self.logs)

    def ensure(self) -> Paths:
        """Create the profile's folders with private permissions; return self."""
        for folder in self.roots:
            ensure_private_dir(folder)
        return self


def ensure_private_dir(folder: Path) -> Path:
    """Create ``folder`` (and parents) readable by the owner only."""
    try:
        with private_umask():
            folder.mkdir(parents=True, exist_ok=True)
        if os.name == "posix":
            folder.chmod(0o700)
    except PermissionError:
        raise DeviceError("profile-not-writable", path=str(folder)) from None
    return folder


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Create files 0600 and folders 0700 inside the block (a no-op where umask does not apply)."""
    if os.name != "posix":
        yield
        return
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _resource_roots() -> list[Path]:
    roots: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        roots.append(Path(bundle) / "fieldscreen" / "_resources")
    roots.append(_PACKAGE_DIR / "_resources")
    roots.append(_PACKAGE_DIR.parent / "resources")
    return roots


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("translations", "fieldscreen_es.qm")``.

    Raises:
        DeviceError: ``resource-missing`` when no root holds it (a damaged install).
    """
    for root in _resource_roots():
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise DeviceError("resource-missing", name="/".join(parts))


def provisioning_candidates() -> list[Path]:
    """Where first run looks for a provisioning file, most specific first.

    Beside the executable (a frozen app: what the Windows installer and the Linux archive do),
    then the machine-wide configuration folder (what macOS management tools and Linux packages
    use, since a signed app bundle must not be modified).
    """
    candidates: list[Path] = []
    if getattr(sys, "frozen", False):
        exe_dir = Path(sys.executable).resolve().parent
        candidates.append(exe_dir / PROVISIONING_FILENAME)
        if sys.platform == "darwin":  # FieldScreen.app/Contents/MacOS/fieldscreen
            candidates.append(exe_dir.parents[2] / PROVISIONING_FILENAME)
    candidates.append(
        Path(platformdirs.site_config_dir(APP_NAME, appauthor=False)) / PROVISIONING_FILENAME
    )
    return candidates


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content.

    The file is created 0600; the data and then the folder entry are flushed to disk.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with private_umask():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
