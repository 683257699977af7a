"""What a material file is: its type by content (not by name), the text of its pages for search, and pictures of
its pages for the browser (PDF pages drawn with PDFium, images as themselves). Local files only; no database.

Limits keep a hostile file from exhausting the shared app process: Office files (zip) may unpack to at most
``MAX_UNCOMPRESSED`` in ``MAX_ZIP_ENTRIES`` entries, and their text is read by streaming the XML parts, which may
unpack to at most ``office_text.MAX_XML_BYTES`` (:mod:`minutes.services.office_text` and ``office_sheets``: memory
stays small whatever a part's size); of a text file only the first ``MAX_TEXT_BYTES`` are read; images may have at
most ``MAX_PIXELS`` pixels. Beyond a limit a file is refused as too large, with the limit in the message.
"""

from __future__ import annotations

import re
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from minutes.errors import InputError
from minutes.services import office_sheets, office_text
from minutes.store.tables import MaterialKind

MAX_UNCOMPRESSED = 512 << 20  # an Office file may unpack to at most this much (zip bombs)
MAX_ZIP_ENTRIES = 20_000
MAX_PIXELS = 100_000_000  # images larger than this are refused (decompression bombs)
MAX_PAGES = 3_000  # PDF pages read for text
MAX_TEXT_CHARS = 5_000_000  # text kept for search per material
MAX_TEXT_BYTES = 4 * MAX_TEXT_CHARS  # read of a text file (a character is at most 4 bytes)
PREVIEW_WIDTH = 1400  # pixels of a rendered PDF page or a shown image

KIND_LABELS_JA = {
    MaterialKind.PDF: "PDF",
    MaterialKind.DOCX: "Word 文書",
    MaterialKind.XLSX: "Excel ブック",
    MaterialKind.PPTX: "PowerPoint",
    MaterialKind.IMAGE: "画像",
    MaterialKind.TEXT: "テキスト",
}
PAGE_WORDS_JA = {
    MaterialKind.PDF: "ページ",
    MaterialKind.XLSX: "シート",
    MaterialKind.PPTX: "スライド",
}
ACCEPTED_EXTENSIONS = (
    ".pdf",
    ".docx",
    ".xlsx",
    ".pptx",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".txt",
    ".csv",
    ".tsv",
    ".md",
)
_OOXML = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": (
        MaterialKind.DOCX,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": (
        MaterialKind.XLSX,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": (
        MaterialKind.PPTX,
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (".pptx",),
    ),
}
_SUPPORTED_JA = "PDF、Word（.docx）、Excel（.xlsx）、PowerPoint（.pptx）、画像（PNG・JPEG・GIF・WebP）、テキスト"
_pdfium_lock = threading.Lock()  # PDFium is not thread-safe; the app's sessions share one process


# ---------------------------------------------------------------- what a file is


@dataclass(frozen=True)
class FileType:
    kind: str  # a MaterialKind value
    mime_type: str
    extensions: tuple[str, ...]  # the extensions this content may have; the first is used for storing

    @property
    def label(self) -> str:
        return KIND_LABELS_JA[self.kind]


def detect(path: Path) -> FileType:
    """The type of a file by its content (magic bytes; for Office files the zip's ``[Content_Types].xml``)."""
    with path.open("rb") as stream:
        head = stream.read(65536)
    if not head:
        raise InputError("ファイルが空です。", "empty file")
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return FileType(MaterialKind.PDF, "application/pdf", (".pdf",))
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _image(path, FileType(MaterialKind.IMAGE, "image/png", (".png",)))
    if head.startswith(b"\xff\xd8\xff"):
        return _image(path, FileType(MaterialKind.IMAGE, "image/jpeg", (".jpg", ".jpeg")))
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _image(path, FileType(MaterialKind.IMAGE, "image/gif", (".gif",)))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _image(path, FileType(MaterialKind.IMAGE, "image/webp", (".webp",)))
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise InputError(
            "古い Office 形式（.doc・.xls・.ppt）には対応していません。Word・Excel・PowerPoint で .docx・.xlsx・"
            ".pptx 形式に保存し直してからアップロードしてください。",
            "OLE compound file",
        )
    if head.startswith(b"PK\x03\x04"):
        return _office(path)
    if _decode(head, partial=True) is not None:
        return FileType(MaterialKind.TEXT, "text/plain", (".txt", ".csv", ".tsv", ".md"))
    raise InputError(f"この種類のファイルには対応していません。対応形式: {_SUPPORTED_JA}。", "unknown content")


def _image_too_large(size: str, detail: str) -> InputError:
    return InputError(
        f"画像が大きすぎます（{size}、上限 {MAX_PIXELS:,} 画素 = 1 万×1 万画素）。縮小してからアップロードして"
        "ください。",
        detail,
    )


def _image(path: Path, file_type: FileType) -> FileType:
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _image_too_large(f"{width:,}×{height:,} 画素", f"{width}x{height} pixels")
            image.verify()
    except InputError:
        raise
    except Image.DecompressionBombError as error:
        # Pillow itself refuses to open an image over twice its own limit: it is too large, not broken
        pixels = re.search(r"\((\d+) pixels\)", str(error))
        size = f"{int(pixels.group(1)):,} 画素" if pixels else "画素数が上限を超えています"
        raise _image_too_large(size, f"DecompressionBombError: {error}") from None
    except Exception as error:
        raise InputError("画像ファイルが壊れているため読み込めません。", f"{type(error).__name__}: {error}") from None
    return file_type


def _office(path: Path) -> FileType:
    broken = InputError(
        f"ファイルが壊れているか、対応していない形式です。対応形式: {_SUPPORTED_JA}。", "zip without a known main part"
    )
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            unpacked = sum(e.file_size for e in entries)
            if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_UNCOMPRESSED:
                raise InputError(
                    f"ファイルが大きすぎます。展開すると極端に大きくなるファイル（{len(entries):,} 個・"
                    f"{unpacked / (1 << 20):,.0f} MB、上限 {MAX_ZIP_ENTRIES:,} 個・{MAX_UNCOMPRESSED >> 20:,} MB）は"
                    "受け付けられません。内容を分けて保存し直してからアップロードしてください。",
                    "zip exceeds the unpacked limit",
                )
            try:
                info = archive.getinfo("[Content_Types].xml")
            except KeyError:
                if any(e.filename.endswith(".xml") for e in entries):
                    raise broken from None
                raise InputError(
                    f"ZIP 圧縮ファイルは添付できません。中のファイルを個別にアップロードしてください（対応形式: "
                    f"{_SUPPORTED_JA}）。",
                    "plain zip",
                ) from None
            if info.file_size > 1 << 20:
                raise broken
            root = ElementTree.fromstring(archive.read(info))
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise broken from None
    except ElementTree.ParseError:
        raise broken from None
    for element in root:
        content_type, part = element.get("ContentType"), element.get("PartName", "").lstrip("/")
        if element.tag.endswith("Override") and content_type in _OOXML and part in names:
            kind, mime_type, extensions = _OOXML[content_type]
            return FileType(kind, mime_type, extensions)
    types = " ".join(str(e.get("ContentType")) for e in root)
    if "macroEnabled" in types:
        raise InputError(
            "マクロ付きの Office ファイル（.docm・.xlsm・.pptm）は受け付けていません。マクロなしの形式で保存し直して"
            "ください。",
            "macro-enabled OOXML",
        )
    raise broken


def _decode(data: bytes, *, partial: bool = False) -> str | None:
    """Text of ``data`` (UTF-8, UTF-16 with a BOM, or Shift_JIS), or None when it is not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    elif b"\x00" in data:
        return None
    else:
        encodings = ["utf-8-sig", "cp932"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as error:
            # a multi-byte character cut by the end of the sample is fine
            if partial and encoding == "utf-8-sig" and error.start >= len(data) - 3:
                text = data[: error.start].decode(encoding)
            else:
                continue
        if all(ch.isprintable() or ch in "\t\r\n\f" for ch in text):
            return text
    return None


def check_name(original_name: str, file_type: FileType) -> None:
    """Refuse a file whose extension says another type than its content."""
    suffix = Path(original_name.replace("\\", "/")).suffix.lower()
    if suffix in file_type.extensions:
        return
    if suffix not in ACCEPTED_EXTENSIONS:
        raise InputError(
            f"拡張子「{suffix or 'なし'}」のファイルは受け付けていません。中身は{file_type.label}です。"
            f"「{file_type.extensions[0]}」の拡張子で保存し直してからアップロードしてください。",
            f"extension {suffix!r} for {file_type.kind}",
        )
    raise InputError(
        f"ファイル名の拡張子は「{suffix}」ですが、中身は{file_type.label}（{file_type.extensions[0]}）です。"
        "拡張子と中身が一致しないファイルは、安全のため受け付けません。正しい拡張子で保存し直してください。",
        f"extension {suffix!r} but content {file_type.kind}",
    )


# ---------------------------------------------------------------- text of a file


@dataclass(frozen=True)
class PageText:
    page: int  # 1-based
    label: str  # ３ページ, シート「歳入」, スライド２, 本文
    text: str


def extract_pages(path: Path, kind: str) -> list[PageText]:
    """The text of every page, sheet or slide (at most ``MAX_TEXT_CHARS`` in all)."""
    try:
        pages = _EXTRACTORS[kind](path)
    except InputError:
        raise
    except Exception as error:
        raise InputError(
            f"{KIND_LABELS_JA[kind]}の内容を読み取れませんでした。ファイルが壊れていないか確認してください。",
            f"{type(error).__name__}: {error}",
        ) from None
    budget, result = MAX_TEXT_CHARS, []
    for page in pages:
        text = page.text[: max(0, budget)]
        budget -= len(text)
        result.append(PageText(page.page, page.label, text))
    return result


def _pdf_pages(path: Path) -> list[PageText]:
    import pypdfium2 as pdfium

    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as error:
            if "password" in str(error).lower():
                raise InputError(
                    "パスワードで保護された PDF は添付できません。保護を解除してからアップロードしてください。",
                    str(error),
                ) from None
            raise
        try:
            pages = []
            for index in range(min(len(document), MAX_PAGES)):
                page = document[index]
                textpage = page.get_textpage()
                text = textpage.get_text_bounded().replace("\r\n", "\n")
                textpage.close()
                page.close()
                pages.append(PageText(index + 1, f"{index + 1}ページ", text))
            for index in range(MAX_PAGES, len(document)):
                pages.append(PageText(index + 1, f"{index + 1}ページ", ""))
            return pages
        finally:
            document.close()


def _office_pages(read: Callable[[zipfile.ZipFile, str, int], list[tuple[str, str]]], kind: str):
    """An extractor that streams the XML of an Office file (:mod:`minutes.services.office_text`)."""

    def extract(path: Path) -> list[PageText]:
        with zipfile.ZipFile(path) as archive:
            pages = read(archive, KIND_LABELS_JA[kind], MAX_TEXT_CHARS)
        return [PageText(index + 1, label, text) for index, (label, text) in enumerate(pages)]

    return extract


def _text_pages(path: Path) -> list[PageText]:
    """The text of a text file; only its first ``MAX_TEXT_BYTES`` are read (more would not be kept)."""
    with path.open("rb") as stream:
        data = stream.read(MAX_TEXT_BYTES + 1)
    if len(data) <= MAX_TEXT_BYTES:
        text = _decode(data)
    else:  # only the start is read: a Shift_JIS or UTF-16 character may be cut in two at its end
        text = next(filter(None, (_decode(data[: MAX_TEXT_BYTES - t], partial=True) for t in range(4))), None)
    if text is None:
        raise InputError("テキストファイルの文字コードを判別できません（UTF-8 か Shift_JIS で保存してください）。")
    return [PageText(1, "本文", text.replace("\r\n", "\n"))]


def _image_pages(path: Path) -> list[PageText]:
    return [PageText(1, "画像", "")]


_EXTRACTORS: dict[str, Callable[[Path], list[PageText]]] = {
    MaterialKind.PDF: _pdf_pages,
    MaterialKind.DOCX: _office_pages(office_text.docx_pages, MaterialKind.DOCX),
    MaterialKind.XLSX: _office_pages(office_sheets.xlsx_pages, MaterialKind.XLSX),
    MaterialKind.PPTX: _office_pages(office_text.pptx_pages, MaterialKind.PPTX),
    MaterialKind.TEXT: _text_pages,
    MaterialKind.IMAGE: _image_pages,
}


# ---------------------------------------------------------------- previews


def render_pdf_page(source: Path, target: Path, page: int, width: int = PREVIEW_WIDTH) -> Path:
    """Page ``page`` (1-based) of a PDF as a PNG ``width`` pixels wide (made once, then reused)."""
    if target.exists():
        return target
    import pypdfium2 as pdfium

    target.parent.mkdir(parents=True, exist_ok=True)
    with _pdfium_lock:
        document = pdfium.PdfDocument(str(source))
        try:
            if not 1 <= page <= len(document):
                raise InputError(f"{page} ページはありません（全 {len(document)} ページ）。", f"page {page}")
            pdf_page = document[page - 1]
            points_wide, points_high = pdf_page.get_size()
            scale = min(width / max(points_wide, 1.0), 4.0, 8000 / max(points_high, 1.0))
            image = pdf_page.render(scale=scale, may_draw_forms=True).to_pil()
            pdf_page.close()
        finally:
            document.close()
    partial = target.with_name(f"{target.stem}.{uuid.uuid4().hex}.part")
    image.save(partial, format="PNG")
    partial.replace(target)
    return target


def image_preview(source: Path, target: Path, width: int = PREVIEW_WIDTH) -> Path:
    """The image itself when it is small enough for the page; else a smaller PNG copy (made once)."""
    from PIL import Image

    with Image.open(source) as image:
        if image.width <= width * 1.5 and image.height <= width * 3:
            return source
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        image.thumbnail((width, width * 3))
        partial = target.with_name(f"{target.stem}.{uuid.uuid4().hex}.part")
        image.save(partial, format="PNG")
    partial.replace(target)
    return target
