"""Strict test set-up shared by every test.

* Qt runs offscreen; Qt warnings fail the test (``qt_log_level_fail`` in pyproject.toml) except
  the one message the offscreen platform always logs when a window is shown.
* Every folder the app could write to (home, XDG folders, temp, the profile) is redirected into
  the session's temporary folder *before* any project module is imported, so no test touches the
  real user's files.
* Tests that use ``qtbot`` or live under ``tests/gui`` are marked ``gui`` automatically, so
  ``pytest -m "not gui"`` is the fast loop.
"""

from __future__ import annotations

import codecs
import locale
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings


def _utf8_locale() -> bool:
    """Whether the C library's locale is UTF-8. Qt warns when it is not (as under LC_ALL=C on a
    bare CI machine) and that warning would fail the first GUI test."""
    if not hasattr(locale, "nl_langinfo"):  # Windows: Qt does not check
        return True
    try:
        return codecs.lookup(locale.nl_langinfo(locale.CODESET)).name == "utf-8"
    except LookupError:
        return False


if not _utf8_locale():
    os.environ["LC_ALL"] = "C.UTF-8"  # what Qt would switch to, without the warning
os.environ["QT_QPA_PLATFORM"] = "offscreen"
# The laptop's clock zone (today() and now() follow it, as in ODK) is UTC unless a test sets
# another, so that no test depends on the zone of the machine it runs on.
os.environ["TZ"] = "UTC"
if hasattr(time, "tzset"):
    time.tzset()
os.environ.setdefault("QT_SCALE_FACTOR", "1")

_SANDBOX = Path(tempfile.mkdtemp(prefix="fieldscreen-tests-"))
for _name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
    (_SANDBOX / _name.lower()).mkdir()
    os.environ[_name] = str(_SANDBOX / _name.lower())
os.environ["XDG_RUNTIME_DIR"] = str(_SANDBOX / "runtime")
(_SANDBOX / "runtime").mkdir(mode=0o700)
os.environ["FIELDSCREEN_PROFILE"] = str(_SANDBOX / "default-profile")
os.environ.pop("FIELDSCREEN_QUIT_WHEN_IDLE", None)

GUI_DIR = Path(__file__).parent / "gui"

# Property tests draw the same examples on every run of ``make test`` (derandomize), so CI cannot
# fail on a draw no earlier run saw; ``make reliability`` (FIELDSCREEN_FULL=1) draws fresh ones
# each run to keep exploring. Neither has a per-example deadline or a "too slow" check: both
# measure the machine, not the code. No example database is written into the checkout.
hypothesis_settings.register_profile(
    "fieldscreen",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
hypothesis_settings.register_profile(
    "fieldscreen-explore",
    parent=hypothesis_settings.get_profile("fieldscreen"),
    derandomize=False,
)
hypothesis_settings.load_profile(
    "fieldscreen-explore" if os.environ.get("FIELDSCREEN_FULL") == "1" else "fieldscreen"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "qtbot" in fixtures or "qapp" in fixtures or GUI_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty profile folder, also set as the default profile for code under test."""
    root = tmp_path / "profile"
    monkeypatch.setenv("FIELDSCREEN_PROFILE", str(root))
    return root


@pytest.fixture
def paths(profile: Path):  # type: ignore[no-untyped-def]
    from fieldscreen.paths import Paths

    return Paths.for_profile(profile).ensure()


@pytest.fixture(scope="session")
def sandbox() -> Path:
    """The session-wide folder that stands in for the user's home and temp folders."""
    return _SANDBOX


@pytest.fixture
def light_kdf() -> Iterator[None]:
    """Argon2id at the test parameters (below the production floor) for one test, then as it
    was: a module that needs them names this with ``pytest.mark.usefixtures("light_kdf")``."""
    from fieldscreen import crypto  # not before the folders above are redirected

    with crypto.permitting_test_parameters():
        yield
