"""The evidence report as PDF (docs/evidence.md, "The report"), in Simplified
Chinese with an embedded Simplified Chinese face: Noto Sans CJK SC (SIL Open Font
License) from Debian's ``fonts-noto-cjk``.

The font. The system collection holds the JP, KR, SC, TC and HK faces of one Pan-CJK
design; the SC face is chosen by its PostScript name, so every shared character takes
its mainland glyph (the TC face draws 42 of a typical report's characters and all
full-width punctuation in Traditional forms). A font file is code the PDF reader
runs, so the system file is pinned by SHA-256 and another is refused;
``LEDGER_CJK_FONT`` names the operator's own file instead (unpinned).

The text. The face is CFF-flavoured; fpdf2 embeds such a font with an encoding CMap
of its own that pypdf and pdfminer.six cannot read (they extracted no Chinese at
all). So the face is first cut to the characters this report uses and its outlines
converted to TrueType (fontTools cu2qu): fpdf2 then embeds an Identity-H
CIDFontType2 font whose ToUnicode map both extractors read.

The lines. Lines are broken here, not by fpdf2: Chinese breaks between any two
characters, full-width closing punctuation hangs at the line end rather than
starting one, and an amount (``1,234.00 元``) or a hash is never split.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

# fontTools comes with fpdf2 (its dependency); it ships no type information.
from fontTools import subset  # type: ignore[import-untyped]
from fontTools.pens.cu2quPen import Cu2QuPen  # type: ignore[import-untyped]
from fontTools.pens.ttGlyphPen import TTGlyphPen  # type: ignore[import-untyped]
from fontTools.ttLib import TTCollection, TTFont, newTable  # type: ignore[import-untyped]
from fpdf import FPDF

from ledger.errors import ConfigError
from ledger.evidence import labels
from ledger.evidence.report import AMOUNT, describe, entry_line, summary_lines
from ledger.log.entry import Entry

# Debian fonts-noto-cjk 1:20220127+repack1-1 (bookworm): the Sans Regular collection.
SYSTEM_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SYSTEM_FONT_SHA256 = "b76b0433203017ca80401b2ee0dd69350349871c4b19d504c34dbdd80541690a"
SC_FACE = "NotoSansCJKsc-Regular"  # PostScript name (name ID 6) of the Simplified Chinese face


@dataclass(frozen=True)
class Face:
    path: Path
    index: int  # the face's number in a collection (0 in a single-face file)
    name: str  # its PostScript name


@lru_cache(maxsize=1)
def font_face() -> Face:
    """The Simplified Chinese face: LEDGER_CJK_FONT's (the operator's choice), else the
    pinned Debian collection's. A ConfigError says what to install."""
    override = os.environ.get("LEDGER_CJK_FONT")
    if override:
        return _choose(Path(override))
    if not SYSTEM_FONT.exists():
        raise ConfigError(f"no Simplified Chinese font: {SYSTEM_FONT} is missing; install Debian's fonts-noto-cjk "
                          "(apt-get install fonts-noto-cjk) or set LEDGER_CJK_FONT to a Noto Sans CJK SC file")
    digest = hashlib.sha256(SYSTEM_FONT.read_bytes()).hexdigest()
    if digest != SYSTEM_FONT_SHA256:
        raise ConfigError(f"{SYSTEM_FONT}: SHA-256 {digest}, want the pinned {SYSTEM_FONT_SHA256} "
                          "(fonts-noto-cjk changed: check the new file and update the pin in ledger/evidence/pdf.py)")
    return _choose(SYSTEM_FONT)


def _choose(path: Path) -> Face:
    """The SC face of a collection, by name; a single-face file as it is."""
    if path.suffix.lower() not in (".ttc", ".otc"):
        return Face(path, 0, _ps_name(TTFont(path, lazy=True)))
    faces = [_ps_name(f) for f in TTCollection(path, lazy=True).fonts]
    if SC_FACE not in faces:
        raise ConfigError(f"{path}: no {SC_FACE} face (it has {', '.join(faces)})")
    return Face(path, faces.index(SC_FACE), SC_FACE)


def _ps_name(font: TTFont) -> str:
    return str(font["name"].getDebugName(6))


def truetype_subset(face: Face, text: str) -> bytes:
    """``face`` cut to the characters of ``text``, its cubic (CFF) outlines converted
    to quadratic TrueType ones (max error 1 unit of 1000): a small font fpdf2 embeds
    as an Identity-H CIDFontType2, which text extractors read."""
    font = TTFont(face.path, fontNumber=face.index, lazy=True, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features, options.name_IDs, options.notdef_outline = [], ["*"], True
    options.desubroutinize = True
    cutter = subset.Subsetter(options)
    cutter.populate(text=text)
    cutter.subset(font)
    if "CFF " in font:
        _cff_to_glyf(font)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


def _cff_to_glyf(font: TTFont) -> None:
    """Replace the CFF table by glyf/loca (OpenType spec: 'glyf' outlines, 'maxp' 1.0)."""
    glyph_set, order = font.getGlyphSet(), font.getGlyphOrder()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))  # TrueType winds the other way
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, glyphs
    del font["CFF "]
    if "VORG" in font:  # vertical origins are a CFF-only table
        del font["VORG"]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    font.sfntVersion = "\x00\x01\x00\x00"


# --- lines ---------------------------------------------------------------------------

# Never split: an amount with its 元, a run of ASCII (a hash, a number, an id).
_TOKEN = re.compile(rf"{AMOUNT.pattern}|[!-~]+|\s|.", re.S)
# Closing punctuation hangs in the margin rather than opening a line (GB/T 15834 usage).
_HANGING = frozenset("，。、；：？！）》」』〕】”’")


def break_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """``text`` as lines no wider than ``width`` (except hanging punctuation): breaks
    at "\\n", at spaces, and between CJK characters; an amount or an ASCII run moves
    to the next line whole (a run wider than a line, such as a long signature, is
    cut where it must be)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKEN.findall(paragraph):
            if measure(line + token) <= width or (token in _HANGING and line):
                line += token
                continue
            if line.strip():
                out.append(line.rstrip())
            line = "" if token.isspace() else token
            while len(line) > 1 and measure(line) > width:
                cut = 1
                while cut < len(line) and measure(line[:cut + 1]) <= width:
                    cut += 1
                out.append(line[:cut])
                line = line[cut:]
        out.append(line.rstrip())
    return out


# --- the document --------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    text: str
    size: float  # points
    gap: float = 1.5  # mm after it


def blocks(summary: dict, entries: dict[int, Entry], disclosures: dict[str, dict], checkpoint: str,
           names: dict[str, str]) -> list[Block]:
    """What the report says, in order (pure)."""
    out = [Block("诚信记录证据材料", 16, 3), Block("\n".join(summary_lines(summary)), 10, 3), Block("当事人", 12)]
    for ref, d in sorted(disclosures.items()):
        out.append(Block(f"{d['name']}　{d['scheme']}:{d['id']}\n主体标识 {ref}", 9))
    out.append(Block("记录（时间均为北京时间）", 12))
    for _, e in sorted(entries.items()):
        out.append(Block(f"{entry_line(e, names)}\n记录时间：{labels.beijing_time(e.recorded_at)}", 9.5, 0.5))
        text = describe(e, names)
        if text:
            out.append(Block(text, 8.5, 0.5))
        out.append(Block(f"记录机关标识 {e.authority.id}（{labels.region_name(e.authority.region)}）　"
                         f"叶哈希 {e.leaf_hash.hex()}", 7, 2))
    out += [Block("签名检查点", 12), Block(checkpoint, 7, 3), Block("如何核验", 12),
            Block("见随附 VERIFY.md：用 sha256sum 核对 manifest.json 中每个文件的哈希；用账本公钥核对检查点签名；"
                  "用 tlog-proof 核对每条记录包含在检查点所承诺的默克尔树中（RFC 9162）；用主体披露信息重新计算主体标识。"
                  "也可运行 ledger verify-bundle 或 python3 verify_bundle.py。", 9.5)]
    return out


def render_pdf(summary: dict, entries: dict[int, Entry], disclosures: dict[str, dict], checkpoint: str,
               names: dict[str, str] | None = None) -> bytes:
    """The report as an A4 PDF; ``names`` are the registered authorities' names by id."""
    content = blocks(summary, entries, disclosures, checkpoint, names or {})
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    # The export's own time, so the same export renders the same bytes.
    pdf.set_creation_date(datetime.fromisoformat(summary["exported_at"].replace("Z", "+00:00")))
    pdf.set_lang("zh-CN")
    with tempfile.TemporaryDirectory(prefix="ledger-font-") as tmp:
        # fpdf2 reads fonts from a path only; the file lives as long as this render.
        font_file = Path(tmp) / "report-sc.ttf"
        font_file.write_bytes(truetype_subset(font_face(), "".join(b.text for b in content) + " "))
        pdf.add_font("sc", fname=str(font_file))
        pdf.add_page()
        for b in content:
            pdf.set_font("sc", size=b.size)
            for line in break_lines(b.text, pdf.epw, pdf.get_string_width):
                pdf.cell(pdf.epw, b.size * 0.5, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(b.gap)
        return bytes(pdf.output())
