"""The coordinator report's charts and PDF, drawn with QPainter (no chart library).

Both the screen and the PDF draw through a :class:`Canvas`, which remembers every label and
every figure it paints: the *painted model* the tests read to prove that the charts show exactly
the table's rows and never a count under the threshold.

Meaning never rests on colour alone: every bar carries its label and its figure in text, the
risk tiers also differ by fill pattern, and a suppressed row is drawn as a hatched stub with
``<5`` beside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPageLayout,
    QPageSize,
    QPainter,
    QPaintEvent,
    QPdfWriter,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from fieldscreen.reports.report_view import ReportView, Row, Section
from fieldscreen.ui.errors import UIError

__all__ = [
    "Canvas",
    "ChartWidget",
    "PdfTexts",
    "chart_height",
    "paint_section",
    "write_report_pdf",
]

INK = QColor("#111111")
GRID = QColor("#8a8a8a")
BAR = QColor("#1d3f73")
SUPPRESSED = QColor("#6b6b6b")
#: Tier fills: colour *and* pattern, so print in black and white and colour-blind readers keep
#: them apart (the bar's label names the tier in words as well).
TIER_FILL: Mapping[str, tuple[str, Qt.BrushStyle]] = {
    "T0": ("#8b0000", Qt.BrushStyle.SolidPattern),
    "T1": ("#9a3b00", Qt.BrushStyle.Dense3Pattern),
    "T2": ("#6b5200", Qt.BrushStyle.BDiagPattern),
    "T3": ("#1f4f80", Qt.BrushStyle.CrossPattern),
    "T4": ("#2f5d2f", Qt.BrushStyle.Dense6Pattern),
}


@dataclass
class Canvas:
    """A painter that records what it draws: ``labels`` and ``values`` per chart or table row
    (in drawing order) and every other text in ``texts``."""

    painter: QPainter
    texts: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)  # (label, shown figure)

    def text(self, rect: QRectF, flags: int, text: str) -> None:
        self.painter.drawText(rect, flags, text)
        self.texts.append(text)

    def row(self, label_rect: QRectF, label_flags: int, row: Row, value_rect: QRectF) -> None:
        """A row's label and its figure, drawn and recorded together."""
        self.painter.setPen(INK)
        self.painter.drawText(label_rect, label_flags, row.label)
        self.painter.drawText(
            value_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), row.text
        )
        self.rows.append((row.label, row.text))


def _fill(section: Section, row: Row) -> QBrush:
    if section.name == "tier" and row.code in TIER_FILL:
        colour, style = TIER_FILL[row.code]
        return QBrush(QColor(colour), style)
    return QBrush(BAR, Qt.BrushStyle.SolidPattern)


def _line(font: QFont) -> float:
    return QFontMetricsF(font).height()


def chart_height(section: Section, font: QFont) -> float:
    """The height a section's chart needs at ``font``."""
    line = _line(font)
    if section.name == "week":
        return line * 16
    return max(1, len(section.rows)) * line * 2.2 + line


def paint_section(canvas: Canvas, rect: QRectF, section: Section) -> None:
    """Draw ``section``'s chart in ``rect``: weekly columns for weeks, bars otherwise."""
    if section.name == "week":
        _paint_columns(canvas, rect, section)
    else:
        _paint_bars(canvas, rect, section)


def _paint_bars(canvas: Canvas, rect: QRectF, section: Section) -> None:
    p = canvas.painter
    line = _line(p.font())
    metrics = QFontMetricsF(p.font())
    height = line * 2.2
    label_w = rect.width() * 0.38
    value_w = metrics.horizontalAdvance("<9999") + line
    bar_x = rect.left() + label_w + line * 0.5
    bar_w = max(1.0, rect.right() - bar_x - value_w)
    largest = max(1, section.largest)
    p.setPen(QPen(GRID, 1))
    p.drawLine(QPointF(bar_x, rect.top()), QPointF(bar_x, rect.top() + height * len(section.rows)))
    for i, row in enumerate(section.rows):
        top = rect.top() + i * height
        label_rect = QRectF(rect.left(), top, label_w, height)
        flags = int(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap
        )
        box_h = height * 0.6
        box_top = top + (height - box_h) / 2
        if row.value is None:
            width = line * 0.9
            p.setPen(QPen(SUPPRESSED, 1, Qt.PenStyle.DashLine))
            p.setBrush(QBrush(SUPPRESSED, Qt.BrushStyle.DiagCrossPattern))
        else:
            width = max(2.0, bar_w * row.value / largest)
            p.setPen(QPen(INK, 1))
            p.setBrush(_fill(section, row))
        p.drawRect(QRectF(bar_x, box_top, width, box_h))
        p.setBrush(Qt.BrushStyle.NoBrush)
        value_rect = QRectF(bar_x + width + line * 0.4, top, value_w, height)
        canvas.row(label_rect, flags, row, value_rect)


def _paint_columns(canvas: Canvas, rect: QRectF, section: Section) -> None:
    """Weekly columns; with many weeks the week labels and figures turn on their side, so
    every column keeps its label and its figure however long the period."""
    p = canvas.painter
    line = _line(p.font())
    rows = section.rows
    if not rows:
        return
    small = QFont(p.font())
    small.setPointSizeF(max(6.0, p.font().pointSizeF() * 0.85))
    small_metrics = QFontMetricsF(small)
    label_w = small_metrics.horizontalAdvance("2026-W52") + 6
    value_w = QFontMetricsF(p.font()).horizontalAdvance("<9999") + 4
    slot = rect.width() / len(rows)
    sideways = label_w > slot
    base = rect.bottom() - (label_w if sideways else line * 2.4)
    top = rect.top() + (value_w if sideways else line * 1.2)
    col_w = min(slot * 0.7, line * 3)
    largest = max(1, section.largest)
    p.setPen(QPen(GRID, 1))
    p.drawLine(QPointF(rect.left(), base), QPointF(rect.right(), base))
    for i, row in enumerate(rows):
        x = rect.left() + i * slot + (slot - col_w) / 2
        centre = rect.left() + (i + 0.5) * slot
        if row.value is None:
            h = line * 0.8
            p.setPen(QPen(SUPPRESSED, 1, Qt.PenStyle.DashLine))
            p.setBrush(QBrush(SUPPRESSED, Qt.BrushStyle.DiagCrossPattern))
        else:
            h = max(2.0, (base - top) * row.value / largest)
            p.setPen(QPen(INK, 1))
            p.setBrush(QBrush(BAR, Qt.BrushStyle.SolidPattern))
        p.drawRect(QRectF(x, base - h, col_w, h))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(INK)
        old = p.font()
        if sideways:
            p.save()
            p.setFont(small)
            p.translate(centre, base + 3)
            p.rotate(-90)
            right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            p.drawText(QRectF(-label_w, -slot / 2, label_w, slot), right, row.label)
            p.restore()
            p.save()
            p.translate(centre, base - h - 2)
            p.rotate(-90)
            left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            p.drawText(QRectF(0, -slot / 2, value_w, slot), left, row.text)
            p.restore()
        else:
            value_rect = QRectF(rect.left() + i * slot, base - h - line * 1.1, slot, line)
            label_rect = QRectF(rect.left() + i * slot, base + line * 0.2, slot, line * 2.2)
            flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            p.setFont(small)
            p.drawText(label_rect, flags | int(Qt.TextFlag.TextWordWrap), row.label)
            p.setFont(old)
            p.drawText(value_rect, int(Qt.AlignmentFlag.AlignCenter), row.text)
        canvas.rows.append((row.label, row.text))


class ChartWidget(QWidget):
    """One section's chart on screen; its accessible description is the chart as text."""

    def __init__(self, section: Section, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.section = section
        self.setObjectName(f"reportChart_{section.name}")
        self.setAccessibleName(title)
        self.setAccessibleDescription(section.alternative_text(title))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(int(chart_height(section, self.font())))
        #: What the last paint drew (the painted model).
        self.painted: list[tuple[str, str]] = []

    def sizeHint(self) -> QSize:
        return QSize(420, int(chart_height(self.section, self.font())))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#ffffff"))
        painter.setFont(self.font())
        canvas = Canvas(painter)
        paint_section(canvas, QRectF(self.rect()).adjusted(4, 4, -4, -4), self.section)
        painter.end()
        self.painted = canvas.rows


@dataclass
class PdfTexts:
    """The report's words in the UI language, for the PDF."""

    title: str
    period: str
    threshold: str
    total: str
    note: str
    generated: str
    section_titles: Mapping[str, str]
    label_header: str
    count_header: str
    empty: str
    page: Callable[[int], str]


def write_report_pdf(path: Path, view: ReportView, words: PdfTexts) -> Canvas:
    """Write the report (title, period, threshold, the note on what aggregates reveal, then per
    section its chart and its table) to ``path``; returns what was painted.

    Raises:
        UIError: ``report-pdf-unwritable`` when the file cannot be written.
    """
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise UIError("report-pdf-unwritable", path=path.name)
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setResolution(96)
    writer.setTitle(words.title)
    writer.setCreator("FieldScreen")
    painter = QPainter()
    if not painter.begin(writer):
        raise UIError("report-pdf-unwritable", path=path.name)
    canvas = Canvas(painter)
    try:
        _Document(canvas, writer, words).paint(view)
    finally:
        painter.end()
    if not path.is_file() or path.stat().st_size == 0:
        raise UIError("report-pdf-unwritable", path=path.name)
    return canvas


class _Document:
    """Lays the report out on A4 pages, breaking pages before a section or a table row that
    does not fit, with the page number at the foot of each."""

    def __init__(self, canvas: Canvas, writer: QPdfWriter, words: PdfTexts) -> None:
        self.canvas = canvas
        self.p = canvas.painter
        self.writer = writer
        self.words = words
        page = QRectF(writer.pageLayout().paintRectPixels(writer.resolution()))
        page.moveTo(0, 0)
        self.page = page
        self.body = QFont("DejaVu Sans")
        self.body.setPointSizeF(9.5)
        self.p.setFont(self.body)
        self.line = _line(self.body)
        self.number = 1
        self.y = page.top()

    def _footer(self) -> None:
        self.p.setFont(self.body)
        self.p.setPen(INK)
        self.canvas.text(
            QRectF(self.page.left(), self.page.bottom() - self.line, self.page.width(), self.line),
            int(Qt.AlignmentFlag.AlignRight),
            self.words.page(self.number),
        )

    def _room(self, need: float) -> None:
        if self.y + need > self.page.bottom() - self.line * 1.5:
            self._footer()
            self.writer.newPage()
            self.number += 1
            self.y = self.page.top()

    def _paragraph(self, text: str, scale: float = 1.0, bold: bool = False) -> None:
        wrap = int(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        )
        font = QFont(self.body)
        font.setPointSizeF(self.body.pointSizeF() * scale)
        font.setBold(bold)
        self.p.setFont(font)
        self.p.setPen(INK)
        area = QRectF(self.page.left(), self.y, self.page.width(), self.page.height())
        height = QFontMetricsF(font).boundingRect(area, wrap, text).height()
        self.canvas.text(QRectF(self.page.left(), self.y, self.page.width(), height), wrap, text)
        self.p.setFont(self.body)
        self.y += height + self.line * 0.4

    def paint(self, view: ReportView) -> None:
        words = self.words
        self._paragraph(words.title, 1.8, bold=True)
        for text in (words.period, words.threshold, words.total, words.generated):
            self._paragraph(text)
        self.y += self.line * 0.3
        self._paragraph(words.note, 0.95)
        for name, section in view.sections.items():
            chart_h = chart_height(section, self.body)
            self._room(self.line * 3 + chart_h + self.line * 1.5 * min(3, len(section.rows) + 1))
            self.y += self.line * 0.6
            self._paragraph(words.section_titles.get(name, name), 1.2, bold=True)
            if not section.rows:
                self._paragraph(words.empty)
                continue
            rect = QRectF(self.page.left(), self.y, self.page.width(), chart_h)
            paint_section(self.canvas, rect, section)
            self.y += chart_h + self.line * 0.6
            self._table(section)
        self._footer()

    def _table(self, section: Section) -> None:
        """The section's table under its chart: label | count, grid lines between rows."""
        p, line = self.p, self.line
        row_h = line * 1.5
        width = min(self.page.width(), line * 30)
        label_w = width * 0.7
        left = self.page.left()
        mid = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header = QFont(self.body)
        header.setBold(True)
        p.setFont(header)
        p.setPen(INK)
        self.canvas.text(QRectF(left + 4, self.y, label_w - 8, row_h), mid, self.words.label_header)
        self.canvas.text(
            QRectF(left + label_w + 4, self.y, width - label_w, row_h), mid, self.words.count_header
        )
        p.setFont(self.body)
        self.y += row_h
        for row in section.rows:
            self._room(row_h)
            p.setPen(QPen(GRID, 1))
            p.drawLine(QPointF(left, self.y), QPointF(left + width, self.y))
            self.canvas.row(
                QRectF(left + 4, self.y, label_w - 8, row_h),
                mid | int(Qt.TextFlag.TextWordWrap),
                row,
                QRectF(left + label_w + 4, self.y, width - label_w - 8, row_h),
            )
            self.y += row_h
        p.setPen(QPen(GRID, 1))
        p.drawLine(QPointF(left, self.y), QPointF(left + width, self.y))
        self.y += line
