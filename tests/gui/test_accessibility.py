"""Readable contrast (WCAG 2 ratios of the stylesheet's text colours on their backgrounds) and
text that follows the system font size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from fieldscreen.paths import resource_path

QSS = Path(resource_path("styles", "fieldscreen.qss")).read_text(encoding="utf-8")


def luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def rules() -> list[tuple[str, str, str]]:
    """Every rule that sets both a text colour and a background: (selector, fg, bg)."""
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", QSS):
        fg = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", body)
        bg = re.search(r"background(?:-color)?:\s*(#[0-9a-fA-F]{6})", body)
        if fg and bg:
            found.append((selector.strip().splitlines()[-1], fg.group(1), bg.group(1)))
    return found


def test_the_stylesheet_has_colour_pairs_to_check() -> None:
    assert len(rules()) >= 10


@pytest.mark.parametrize(("selector", "fg", "bg"), rules())
def test_text_contrast_is_at_least_aa(selector: str, fg: str, bg: str) -> None:
    # WCAG 2.1 AA: 4.5:1 for body text. Disabled controls are exempt but still kept >= 3:1.
    bar = 3.0 if ":disabled" in selector else 4.5
    assert contrast(fg, bg) >= bar, f"{selector}: {contrast(fg, bg):.2f}"


def test_the_act_now_band_is_high_contrast() -> None:
    assert contrast("#ffffff", "#b00020") >= 7.0  # AAA for the one thing that must be read


def test_headings_follow_the_system_font_size(qtbot: QtBot) -> None:
    from fieldscreen.ui.common import heading

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.font()
    try:
        big = QFont(before)
        big.setPointSizeF(16)
        app.setFont(big)
        title = heading("Results")
        qtbot.addWidget(title)
        assert title.font().pointSizeF() == pytest.approx(16 * 1.6)
    finally:
        app.setFont(before)


def test_the_scroll_bar_handle_stands_out_from_its_groove_and_the_page() -> None:
    """The handle was white on white: a long page did not look long."""
    groove = re.search(r"QScrollBar:vertical\s*\{[^}]*background:\s*(#[0-9a-fA-F]{6})", QSS)
    handle = re.search(r"QScrollBar::handle:vertical\s*\{[^}]*background:\s*(#[0-9a-fA-F]{6})", QSS)
    page = re.search(r"QMainWindow, QDialog\s*\{[^}]*background:\s*(#[0-9a-fA-F]{6})", QSS)
    assert groove is not None
    assert handle is not None
    assert page is not None
    for behind in (groove.group(1), page.group(1)):
        assert contrast(handle.group(1), behind) >= 3.0, behind  # WCAG 2.1 non-text contrast
