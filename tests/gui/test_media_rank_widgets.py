"""The rank widget is keyboard-first; the media widget reads the chosen file once, bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldscreen.forms.attachments import MAX_FILE_BYTES, Attachment
from fieldscreen.ui.fields import MediaWidget, RankWidget
from fieldscreen.ui.ports import Choice, FieldView

CHOICES = (Choice("water", "Water"), Choice("food", "Food"), Choice("shelter", "Shelter"))


def test_rank_moves_with_ctrl_arrows_and_answers_the_names_in_order(qtbot: QtBot) -> None:
    widget = RankWidget(FieldView("needs", "rank", "Most urgent first", choices=CHOICES))
    qtbot.addWidget(widget)
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    widget.items.setCurrentRow(2)
    widget.items.setFocus()
    qtbot.keyClick(widget.items, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(widget.items, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(widget.items, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)  # at top
    assert seen == [["water", "shelter", "food"], ["shelter", "water", "food"]]
    widget.keep.click()
    assert seen[-1] == ["shelter", "water", "food"]
    widget.set_value(["food", "water", "shelter"])
    assert widget._answer() == ["food", "water", "shelter"]
    assert len(seen) == 3  # setting never emits


@pytest.fixture
def chosen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    picked: list[str] = []
    monkeypatch.setattr(MediaWidget, "choose", staticmethod(lambda *_: picked.pop(0)))
    return picked


def test_media_hands_over_the_file_and_refuses_one_too_large(
    qtbot: QtBot, tmp_path: Path, chosen: list[str]
) -> None:
    widget = MediaWidget(FieldView("doc", "image", "Photo of the document"))
    qtbot.addWidget(widget)
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    photo = tmp_path / "passport.jpg"
    photo.write_bytes(b"\xff\xd8photo")
    big = tmp_path / "big.jpg"
    big.write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    chosen += [str(photo), str(big), str(tmp_path / "gone.jpg"), ""]
    for _ in range(4):
        widget.pick.click()
    assert seen == [Attachment("passport.jpg", b"\xff\xd8photo")]
    assert seen[0].data == b"\xff\xd8photo"
    assert not widget.message.isHidden()  # the last refusal is shown (cannot be read)
    widget.set_value("doc-0011223344556677.jpg")
    assert widget.remove.isEnabled()
    assert "doc-0011" in widget.shown.text()
    widget.remove.click()
    assert seen[-1] is None
