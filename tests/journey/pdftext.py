"""The text a PDF written by Qt's :class:`QPdfWriter` draws, read back from its bytes.

No PDF library is a dependency, and Qt's own PDF reader is not in PySide6-Essentials. Qt's
writer is simple and regular: every page's content is one Flate stream; text is shown with
``Tj``/``TJ`` in hexadecimal glyph codes of a subset font, and each font carries a
``/ToUnicode`` CMap from those codes to characters. This reads exactly that: the objects, the
fonts of each page's resources and their CMaps, and the text operators of each content stream,
in drawing order (Qt places glyph by glyph, so compare with :func:`squeeze`). Anything it
does not understand is an error, never a silent empty string.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

__all__ = ["pdf_text", "squeeze"]

_OBJECT = re.compile(rb"(\d+) 0 obj\b")
_REF = rb"(\d+) 0 R"


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Each object's dictionary (or value) and its decoded stream, if it has one. A stream is
    cut by its ``/Length`` (which Qt often gives as a reference to a later object)."""
    heads: dict[int, tuple[int, bytes]] = {}  # number -> (where its stream starts, head)
    for match in _OBJECT.finditer(data):
        at = match.end()
        stop = data.find(b"endobj", at)
        cut = data.find(b"stream", at, stop)
        if cut < 0:
            heads[int(match.group(1))] = (-1, data[at:stop].strip())
            continue
        body = cut + len(b"stream")
        body += 2 if data[body : body + 2] == b"\r\n" else 1
        heads[int(match.group(1))] = (body, data[at:cut].strip())
    found: dict[int, tuple[bytes, bytes | None]] = {}
    for number, (body, head) in heads.items():
        if body < 0:
            found[number] = (head, None)
            continue
        length = re.search(rb"/Length\s+(?:" + _REF + rb"|(\d+))", head)
        if length is None:
            raise ValueError(f"object {number}: a stream without a length")
        size = int(heads[int(length.group(1))][1]) if length.group(1) else int(length.group(2))
        raw = data[body : body + size]
        if b"/FlateDecode" in head:
            raw = zlib.decompress(raw)
        found[number] = (head, raw)
    return found


def _resolve(objects: dict[int, tuple[bytes, bytes | None]], head: bytes, key: bytes) -> bytes:
    """The value of ``/key`` in ``head``, following one indirect reference."""
    match = re.search(rb"/" + key + rb"\s*(" + _REF + rb"|<<.*?>>)", head, re.S)
    if match is None:
        return b""
    if match.group(2):
        return objects[int(match.group(2))][0]
    return match.group(1)


def _cmap(text: bytes) -> dict[bytes, str]:
    mapping: dict[bytes, str] = {}

    def chars(hexa: bytes) -> str:
        raw = bytes.fromhex(hexa.decode())
        return raw.decode("utf-16-be")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for code, uni in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[bytes.fromhex(code.decode())] = chars(uni)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, rest in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[.*?\]|<[0-9A-Fa-f]+>)", block, re.S
        ):
            start, end = int(low, 16), int(high, 16)
            width = len(low) // 2
            if rest.startswith(b"["):
                targets = [chars(t) for t in re.findall(rb"<([0-9A-Fa-f]+)>", rest)]
            else:
                first = bytes.fromhex(rest[1:-1].decode())
                base = int.from_bytes(first, "big")
                targets = [
                    (base + i).to_bytes(len(first), "big").decode("utf-16-be")
                    for i in range(end - start + 1)
                ]
            for i, target in enumerate(targets):
                mapping[(start + i).to_bytes(width, "big")] = target
    return mapping


_TOKENS = re.compile(rb"/([^\s/<>\[\]()]+)|<([0-9A-Fa-f\s]*)>|\[|\]|([A-Za-z'\"*]+)|\S+")


def _show(content: bytes, fonts: dict[bytes, dict[bytes, str]]) -> str:
    out: list[str] = []
    font: dict[bytes, str] = {}
    name: bytes | None = None
    pending: list[bytes] = []  # hex strings since the last operator
    for match in _TOKENS.finditer(content):
        if match.group(1) is not None:
            name = match.group(1)
            continue
        if match.group(2) is not None:
            pending.append(bytes.fromhex(re.sub(r"\s", "", match.group(2).decode())))
            continue
        op = match.group(3)
        if op is None:
            continue
        if op == b"Tf" and name is not None:
            if name not in fonts:
                raise ValueError(f"font {name!r} has no ToUnicode map")
            font = fonts[name]
        elif op in (b"Tj", b"TJ", b"'", b'"'):
            width = min((len(k) for k in font), default=2)
            for raw in pending:
                for i in range(0, len(raw), width):
                    code = raw[i : i + width]
                    if code not in font:
                        raise ValueError(f"glyph {code.hex()} is not in the font's map")
                    out.append(font[code])
        elif op == b"ET":
            out.append("\n")
        pending = []
    return "".join(out)


def pdf_text(data: bytes) -> str:
    """Every page's text, in drawing order, one run per line."""
    if not data.startswith(b"%PDF"):
        raise ValueError("not a PDF")
    objects = _objects(data)
    pages: list[str] = []
    for head, _ in objects.values():
        if not re.search(rb"/Type\s*/Page\b", head):
            continue
        resources = _resolve(objects, head, b"Resources")
        font_dict = _resolve(objects, resources, b"Font")
        fonts: dict[bytes, dict[bytes, str]] = {}
        for font_name, ref in re.findall(rb"/([^\s/<>]+)\s+" + _REF, font_dict):
            font_head = objects[int(ref)][0]
            to_unicode = re.search(rb"/ToUnicode\s+" + _REF, font_head)
            if to_unicode is None:
                continue
            stream = objects[int(to_unicode.group(1))][1]
            fonts[font_name] = _cmap(stream or b"")
        contents = re.search(rb"/Contents\s+" + _REF, head)
        if contents is None:
            raise ValueError("a page without contents")
        stream = objects[int(contents.group(1))][1]
        pages.append(_show(stream or b"", fonts))
    if not pages:
        raise ValueError("no pages")
    # Qt's subset fonts map a space to a tab, and may draw "fi" as one ligature glyph.
    return unicodedata.normalize("NFKC", "\n".join(pages)).replace("\t", " ")


def squeeze(text: str) -> str:
    """``text`` without white space: a PDF places words apart, so compare without it."""
    return re.sub(r"\s+", "", text)
