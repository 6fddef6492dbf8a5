"""JSON nested past any recursion limit, in every file or answer FieldScreen reads from outside.

The standard library's parser answers such input with ``RecursionError``, which is not a
``ValueError``: each reader must still give its own clear error (or set the file aside), never
a traceback. A USB bundle, a directory document, a key file or a settings file can all be
damaged or hostile.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fieldscreen.directory import ServiceDirectory
from fieldscreen.errors import KnownError
from fieldscreen.forms.cli import _read_answers
from fieldscreen.reports.export_files import unpack
from fieldscreen.settings import Settings
from fieldscreen.sync.bundle import read_bundle
from fieldscreen.sync.server.cli import _private_key
from fieldscreen.vault.keyring import Keyring

DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"format": ' + DEEP + b"}"


def test_a_bundle_nested_past_the_limit_is_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "laptop.fsbundle"
    path.write_bytes(DEEP + b"\n")
    with pytest.raises(KnownError) as caught:
        read_bundle(path)
    assert caught.value.code == "sync-bad-file"


def test_a_directory_nested_past_the_limit_is_invalid() -> None:
    with pytest.raises(KnownError) as caught:
        ServiceDirectory.from_content(DEEP_OBJECT, "file", "services.json")
    assert caught.value.code == "directory-invalid"


def test_a_key_file_nested_past_the_limit_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(DEEP_OBJECT)
    with pytest.raises(KnownError) as caught:
        Keyring.load(path)
    assert caught.value.code == "vault-damaged"


def test_a_settings_file_nested_past_the_limit_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(DEEP_OBJECT)
    settings = Settings.load(path)
    assert settings.recovered_from == path.with_suffix(".damaged")
    assert not path.exists()


def test_an_export_pack_nested_past_the_limit_is_invalid() -> None:
    with pytest.raises(KnownError) as caught:
        unpack(DEEP_OBJECT, b"any passphrase")
    assert caught.value.code == "export-pack-invalid"


def test_form_answers_nested_past_the_limit_are_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_bytes(DEEP)
    with pytest.raises(KnownError) as caught:
        _read_answers(str(path))
    assert caught.value.code == "form-answers-unreadable"


def test_a_server_key_file_nested_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "receipt-key.json"
    path.write_bytes(DEEP_OBJECT)
    with pytest.raises(KnownError) as caught:
        _private_key(argparse.Namespace(passphrase_file=None), str(path))
    assert caught.value.code == "server-key-file"


def test_the_unlock_screen_s_light_read_of_a_nested_key_file_falls_back(tmp_path: Path) -> None:
    """Before the vault is imported, the unlock screen reads the logins as plain JSON; a key
    file nested past the limit leaves that to the vault (which says "damaged"), no crash."""
    from fieldscreen.ui.backends import read_logins

    path = tmp_path / "vault.keys"
    path.write_bytes(b'{"users": ' + DEEP + b"}")
    assert read_logins(path) is None
