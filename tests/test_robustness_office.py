"""Hostile materials (issue 16): Office XML bombs and huge images must not exhaust the shared app process.

A 1.2 MB .docx whose ``word/document.xml`` unpacks to 400 MB (under the 512 MB zip cap) took the app process to 6.5 GB
for 35 s (python-docx builds the whole XML tree). Office text is now read by streaming the XML with a cap on the parts
read; each case runs in a child process (its address space capped at 2 GB, so the old behaviour fails fast instead of
swapping the machine) that reports its peak memory.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

from minutes.errors import InputError
from minutes.services.material_files import MAX_PIXELS, MAX_TEXT_CHARS, detect, extract_pages
from minutes.services.office_text import MAX_XML_BYTES
from tests.conftest import ROOT

PEAK_LIMIT_MB = 300
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
MAIN = {
    "docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
}
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def _office(path: Path, kind: str, parts: dict[str, bytes | tuple[bytes, bytes, bytes, int]]) -> Path:
    """An Office zip; a part given as (head, repeated block, tail, size) is streamed into the zip, ``size`` bytes of
    repeated blocks, never held in memory whole."""
    main, content_type = MAIN[kind]
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Override PartName="/{main}" ContentType="{content_type}"/></Types>'
    )
    rels = f'<Relationships xmlns="{RELATIONSHIPS}"><Relationship Id="rId1" Type="{OFFICE_DOCUMENT}" Target="{main}"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels + "</Relationships>")
        for name, data in parts.items():
            if isinstance(data, bytes):
                archive.writestr(name, data)
                continue
            head, block, tail, size = data
            block *= max(1, (1 << 20) // len(block))
            with archive.open(name, "w", force_zip64=True) as out:
                out.write(head)
                for _ in range(size // len(block)):
                    out.write(block)
                out.write(tail)
    return path


def _docx(path: Path, block: bytes, size: int) -> Path:
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>'.encode()
    return _office(path, "docx", {"word/document.xml": (head, block, b"</w:body></w:document>", size)})


def _xlsx(path: Path, size: int) -> Path:
    """A workbook whose shared strings are ``size`` bytes of long Japanese strings, and one sheet using them."""
    sheet_type = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
    strings_type = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    rels = (
        f'<Relationships xmlns="{RELATIONSHIPS}"><Relationship Id="rId1" Type="{sheet_type}" '
        f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{strings_type}" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    cells = '<c r="A{0}" t="s"><v>{1}</v></c><c r="B{0}"><v>-1.5</v></c>'
    rows = "".join(f'<row r="{i}">{cells.format(i, i - 1)}</row>' for i in (1, 2))
    return _office(
        path,
        "xlsx",
        {
            "xl/workbook.xml": f'<workbook {S} {R}><sheets><sheet name="歳入" sheetId="1" r:id="rId1"/></sheets>'
            "</workbook>".encode(),
            "xl/_rels/workbook.xml.rels": rels.encode(),
            "xl/worksheets/sheet1.xml": f"<worksheet {S}><sheetData>{rows}</sheetData></worksheet>".encode(),
            "xl/sharedStrings.xml": (
                f"<sst {S}><si><t>町税</t></si>".encode(),
                ("<si><t>" + "防災倉庫の整備に要する経費" * 40 + "</t></si>").encode(),
                b"</sst>",
                size,
            ),
        },
    )


_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    from pathlib import Path
    from minutes.services.material_files import detect, extract_pages
    started = time.monotonic()
    result = {}
    try:
        path = Path(sys.argv[1])
        pages = extract_pages(path, detect(path).kind)
        result["pages"] = [[p.label, len(p.text), p.text[:40]] for p in pages]
    except BaseException as error:
        result["error"] = [type(error).__name__, getattr(error, "message", str(error))]
    result["seconds"] = time.monotonic() - started
    # VmHWM: this process's own peak (ru_maxrss may count the parent's memory copied at fork, before exec)
    status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
    peak_kb = int(status["VmHWM"].split()[0]) if "VmHWM" in status else resource.getrusage(0).ru_maxrss
    result["peak_mb"] = peak_kb / 1024
    print(json.dumps(result, ensure_ascii=False))
    """
)


def _read_in_child(path: Path) -> dict:
    """Detect and extract ``path`` in a child process; its result, peak memory (MB) and seconds."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_docx_bomb_is_refused_as_too_large_without_using_memory(tmp_path):
    bomb = _docx(tmp_path / "bomb.docx", b"<w:p><w:r><w:t>x</w:t></w:r></w:p>", 400 << 20)
    assert bomb.stat().st_size < 4 << 20  # a few MB that unpack to 400 MB
    result = _read_in_child(bomb)
    assert result.get("error", [None])[0] == "InputError", result
    message = result["error"][1]
    assert "大きすぎます" in message and f"上限 {MAX_XML_BYTES >> 20} MB" in message, message
    assert result["peak_mb"] < PEAK_LIMIT_MB, result


@pytest.mark.parametrize("kind", ["docx-one-huge-run", "docx-many-paragraphs", "xlsx-huge-shared-strings"])
def test_large_office_parts_under_the_cap_stream_in_little_memory(tmp_path, kind):
    """Accepted files near the cap: text is kept up to the search budget, memory stays small."""
    size = MAX_XML_BYTES - (4 << 20)
    if kind == "docx-one-huge-run":  # one paragraph, one text node of ~60 MB
        path = _office(
            tmp_path / "a.docx",
            "docx",
            {
                "word/document.xml": (
                    f"<w:document {W}><w:body><w:p><w:r><w:t>".encode(),
                    "議会の会議録".encode(),
                    b"</w:t></w:r></w:p></w:body></w:document>",
                    size,
                )
            },
        )
        expected, least = "議会の会議録", 4_000_000
    elif kind == "docx-many-paragraphs":
        path = _docx(tmp_path / "b.docx", ("<w:p><w:r><w:t>" + "本会議" * 300 + "</w:t></w:r></w:p>").encode(), size)
        expected, least = "本会議", 4_000_000
    else:
        path = _xlsx(tmp_path / "c.xlsx", size)
        expected, least = "町税\t-1.5\n防災倉庫", 500  # the sheet uses two of the strings
    result = _read_in_child(path)
    assert "error" not in result, result
    [[_label, length, start]] = result["pages"]
    assert start.startswith(expected) and least < length <= 5_000_000, result
    assert result["peak_mb"] < PEAK_LIMIT_MB, result


def test_office_xml_with_a_dtd_is_refused(tmp_path):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<w:document " + W.encode() + b"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>"
    )
    path = _office(tmp_path / "dtd.docx", "docx", {"word/document.xml": laughs})
    result = _read_in_child(path)
    assert result["error"][0] == "InputError" and "読み取れませんでした" in result["error"][1], result


def test_a_huge_text_file_is_read_only_as_far_as_its_text_is_kept(tmp_path):
    path = tmp_path / "議事録.txt"
    line = "本日の会議を開きます。議案第５号を議題とします。\n".encode()
    with path.open("wb") as out:
        for _ in range((150 << 20) // (len(line) * 1000)):
            out.write(line * 1000)
    result = _read_in_child(path)
    [[_label, length, start]] = result["pages"]
    assert start.startswith("本日の会議") and length >= MAX_TEXT_CHARS, result
    assert result["peak_mb"] < PEAK_LIMIT_MB, result


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "utf-16"])
def test_a_text_file_cut_inside_a_character_still_reads(tmp_path, monkeypatch, encoding):
    monkeypatch.setattr("minutes.services.material_files.MAX_TEXT_BYTES", 1001)
    path = tmp_path / "a.txt"
    text = ("会議録𠮷" if encoding != "cp932" else "会議録ｱ") * 400  # 𠮷: a surrogate pair in UTF-16
    path.write_bytes(text.encode(encoding))
    [page] = extract_pages(path, detect(path).kind)
    assert text.startswith(page.text) and 200 < len(page.text) < 1001


def _png_header(width: int, height: int) -> bytes:
    """The start of a PNG of ``width`` × ``height`` pixels: enough for any reader to learn its size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(30_000, 30_000), (12_000, 10_000)])
def test_a_huge_image_is_refused_as_too_large_with_the_limit(tmp_path, size):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header(*size))
    with pytest.raises(InputError) as refused:
        detect(path)
    message = refused.value.message
    assert "大きすぎます" in message and f"{MAX_PIXELS:,} 画素" in message, message
    assert "壊れて" not in message
