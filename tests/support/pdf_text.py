"""The text of a PDF that Qt's own writer made (``QPdfWriter``), for tests that check what a
printed document says: each page's content streams decoded with their fonts' ``ToUnicode``
maps. Enough for Qt's output (Type0 fonts, Identity-H, ``<hex> Tj`` and ``TJ`` arrays), not a
general PDF reader."""

from __future__ import annotations

import re
import zlib

__all__ = ["pdf_text", "squeezed"]

_OBJECT = re.compile(rb"(?m)^(\d+) 0 obj\b(.*?)\bendobj", re.S)
_REF = rb"(\d+) 0 R"


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(data)}


def _stream(body: bytes) -> bytes:
    head, found, rest = body.partition(b"stream")
    if not found:
        return b""
    raw = rest.lstrip(b"\r\n")
    raw = raw[: raw.rfind(b"endstream")].rstrip(b"\r\n")
    return zlib.decompress(raw) if b"/FlateDecode" in head else raw


def _cmap(text: bytes) -> dict[int, str]:
    """A ToUnicode CMap's code -> text (``bfchar`` and both forms of ``bfrange``)."""
    out: dict[int, str] = {}

    def chars(hexes: bytes) -> str:
        units = bytes.fromhex(hexes.decode())
        return units.decode("utf-16-be").replace("\t", " ")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for code, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(code, 16)] = chars(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, rest in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[[^\]]*\]|<[0-9A-Fa-f]+>)", block
        ):
            first, last = int(lo, 16), int(hi, 16)
            if rest.startswith(b"["):
                for i, dst in enumerate(re.findall(rb"<([0-9A-Fa-f]+)>", rest)):
                    out[first + i] = chars(dst)
            else:
                start = int(rest[1:-1], 16)
                for i in range(last - first + 1):
                    out[first + i] = chr(start + i).replace("\t", " ")
    return out


def pdf_text(data: bytes) -> str:
    """Every page's text, in the order the pages and their glyphs are drawn."""
    objects = _objects(data)
    maps: dict[int, dict[int, str]] = {}
    for number, body in objects.items():
        found = re.search(rb"/ToUnicode " + _REF, body)
        if found:
            maps[number] = _cmap(_stream(objects[int(found.group(1))]))
    pages = []
    for body in objects.values():
        if not re.search(rb"/Type /Page\b", body):
            continue
        fonts: dict[bytes, dict[int, str]] = {}
        resources = re.search(rb"/Resources " + _REF, body)
        where = objects[int(resources.group(1))] if resources else body
        font_dict = re.search(rb"/Font\s*<<(.*?)>>", where, re.S)
        for name, ref in re.findall(rb"/(\w+) " + _REF, font_dict.group(1) if font_dict else b""):
            fonts[name] = maps.get(int(ref), {})
        parts: list[str] = []
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+ 0 R)", body)
        for ref in re.findall(_REF, contents.group(1) if contents else b""):
            content = _stream(objects[int(ref)])
            font: dict[int, str] = {}
            for token in re.finditer(
                rb"/(\w+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>\s*Tj|\[((?:[^\]])*)\]\s*TJ", content
            ):
                if token.group(1) is not None:
                    font = fonts.get(token.group(1), {})
                    continue
                hexes = token.group(2) or b"".join(re.findall(rb"<([0-9A-Fa-f]*)>", token.group(3)))
                codes = bytes.fromhex(hexes.decode())
                parts.extend(
                    font.get(int.from_bytes(codes[i : i + 2], "big"), "")
                    for i in range(0, len(codes) - 1, 2)
                )
        pages.append("".join(parts))
    return "\n".join(pages)


def squeezed(text: str) -> str:
    """``text`` without whitespace: a line break in the PDF draws no space."""
    return re.sub(r"\s+", "", text)
