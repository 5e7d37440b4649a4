"""Text of a PDF by its own ToUnicode maps (Identity-H fonts, as fpdf2 writes
them): independent of any extractor's heuristics. pypdf's extract_text mis-maps
fonts whose ToUnicode has more than ~250 entries (measured: garbled from the
255th glyph on); MuPDF agrees with this reader."""

from __future__ import annotations

import re
from io import BytesIO

from pypdf import PdfReader

_ESC = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _literal(data: bytes, i: int) -> tuple[bytes, int]:
    """The PDF literal string starting after '(' at ``i``; returns (bytes, index after ')')."""
    out, depth = bytearray(), 1
    while True:
        c = data[i:i + 1]
        if c == b"\\":
            n = data[i + 1:i + 2]
            if n in _ESC:
                out += _ESC[n]
                i += 2
            else:
                m = re.match(rb"[0-7]{1,3}", data[i + 1:i + 4])
                out.append(int(m.group(), 8) & 0xFF)
                i += 1 + len(m.group())
            continue
        if c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out += c
        i += 1


def pdf_text(data: bytes) -> str:
    reader = PdfReader(BytesIO(data))
    pages = []
    for page in reader.pages:
        cmap: dict[int, str] = {}
        for font in page["/Resources"]["/Font"].values():
            tu = font.get_object()["/ToUnicode"].get_object().get_data().decode()
            for src, dst in re.findall(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", tu.split("endcodespacerange", 1)[1]):
                cmap[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
        content, text, i = page.get_contents().get_data(), [], 0
        while (i := content.find(b"(", i)) != -1:
            raw, i = _literal(content, i + 1)
            text.append("".join(cmap.get(int.from_bytes(raw[k:k + 2], "big"), "?") for k in range(0, len(raw) - 1, 2)))
            text.append("\n")
        pages.append("".join(text))
    return "".join(pages)
