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


def test_an_osm_question_offers_osm_files_first_and_a_photo_question_does_not(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file picker of an OpenStreetMap question (built by the real engine from a workbook)
    shows ``*.osm`` files first, in the user's language; other file questions keep theirs."""
    from datetime import datetime

    from fieldscreen.forms import Session
    from fieldscreen.ui.engine import EngineScreening
    from tests.unit.forms.helpers import NOW, form
    from tests.unit.forms.test_media_rank import OSM_MD

    loaded = form(OSM_MD)
    session = Session.start(loaded, "en", clock=lambda: NOW)
    screening = EngineScreening({loaded.id: loaded}, {loaded.id: session}, datetime(2026, 1, 1))
    (view,) = [f for page in screening.pages("en") for f in page.fields if f.name.endswith("road")]
    assert view.accept == "osm"
    filters: list[str] = []

    def choose(_parent: object, _title: str, given: str) -> str:
        filters.append(given)
        return ""

    monkeypatch.setattr(MediaWidget, "choose", staticmethod(choose))
    for field in (view, FieldView("doc", "image", "Photo of the document")):
        widget = MediaWidget(field)
        qtbot.addWidget(widget)
        widget.pick.click()
    assert filters[0] == "OpenStreetMap files (*.osm);;All files (*)"
    assert filters[1].startswith("Photos and scans (*.jpg")
    assert "*.osm" not in filters[1]
