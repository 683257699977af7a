"""Materials on real files and real SQLite: every type round trip, content checks, odd names, limits, previews."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from minutes.errors import FinalizedError, InputError
from minutes.services import Principal, Services
from minutes.services.material_files import detect
from minutes.services.materials import MaterialService
from minutes.services.search import SearchQuery
from minutes.settings import Settings
from tests.seeding import seed_meeting

# ---------------------------------------------------------------- real files, made here


def make_pdf(pages: list[list[str]]) -> bytes:
    """A valid PDF (A4 pages, Helvetica text lines, a frame) written by hand: no PDF library needed."""
    objects: list[bytes] = []
    kids = []
    font_number = 3 + 2 * len(pages)
    for index, lines in enumerate(pages):
        page_number, content_number = 3 + 2 * index, 4 + 2 * index
        kids.append(f"{page_number} 0 R")
        text = "".join(
            f"BT /F1 {24 if i == 0 else 14} Tf 72 {760 - 36 * i} Td ({line}) Tj ET\n" for i, line in enumerate(lines)
        )
        stream = f"0.2 0.3 0.6 RG 4 w 40 40 515 762 re S\n{text}".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_number} 0 R "
            f"/Resources << /Font << /F1 {font_number} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode(),
        *objects,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("議案第５号　補正予算の概要", level=1)
    document.add_paragraph("防災倉庫の整備に要する経費を計上するものです。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "款", "金額"
    table.cell(1, 0).text, table.cell(1, 1).text = "消防費", "12,000千円"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_xlsx() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "歳入"
    sheet.append(["款", "金額"])
    sheet.append(["町税", 4_200_000])
    second = workbook.create_sheet("歳出")
    second.append(["消防費", "河川改修費"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def make_pptx() -> bytes:
    import pptx

    presentation = pptx.Presentation()
    for title, body in (("施政方針", "住みよいまちづくり"), ("重点施策", "公共交通の再編")):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def make_image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(out, format=fmt)
    return out.getvalue()


# ---------------------------------------------------------------- fixtures


def as_(engine, settings: Settings, name: str = "佐藤") -> Services:
    """The services acting for the operating-system user ``name``."""
    return Services.for_user(engine, settings, Principal.operator(name))


@pytest.fixture
def materials(engine, tmp_path) -> MaterialService:
    return as_(engine, Settings(data_dir=tmp_path / "data")).materials


@pytest.fixture
def meeting(engine) -> int:
    return seed_meeting(engine)


CASES = [
    ("資料1.pdf", lambda: make_pdf([["Budget Committee 2025"], ["Disaster prevention warehouse"]]), "pdf", 2),
    ("補正予算の概要.docx", make_docx, "docx", 1),
    ("予算書.xlsx", make_xlsx, "xlsx", 2),
    ("施政方針.pptx", make_pptx, "pptx", 2),
    ("位置図.png", lambda: make_image("PNG"), "image", 1),
    ("写真.JPG", lambda: make_image("JPEG"), "image", 1),
    ("図.gif", lambda: make_image("GIF"), "image", 1),
    ("図.webp", lambda: make_image("WEBP"), "image", 1),
    ("メモ.txt", lambda: "会議メモ：傍聴者は１２名。".encode(), "text", 1),
    ("名簿.csv", lambda: "氏名,会派\n山田,新風会\n".encode("cp932"), "text", 1),
]


@pytest.mark.parametrize(("name", "make", "kind", "pages"), CASES, ids=[c[0] for c in CASES])
def test_each_type_round_trips(materials, meeting, name, make, kind, pages):
    data = make()
    info = materials.add(meeting, data, original_name=name, agenda_order=1)
    assert (info.kind, info.pages, info.size_bytes) == (kind, pages, len(data))
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.path.is_file() and info.path.parent.parent.parent.name == "materials"
    assert info.original_name == name and info.title == Path(name).stem and info.agenda_order == 1
    assert materials.data(info.id) == data
    assert [m.id for m in materials.list(meeting)] == [info.id]
    assert Path(info.download_name).suffix.lower() == Path(name).suffix.lower()
    if kind in ("pdf", "image"):
        preview = materials.preview(info.id, 1)
        with Image.open(preview) as image:
            assert image.width > 0
    else:
        with pytest.raises(InputError):
            materials.preview(info.id, 1)


def test_text_is_extracted_per_page_and_searchable(materials, meeting, engine):
    pdf = materials.add(meeting, make_pdf([["Budget Committee 2025"], ["Disaster prevention"]]), original_name="a.pdf")
    assert [p.label for p in materials.pages(pdf.id)] == ["1ページ", "2ページ"]
    assert "Disaster prevention" in materials.pages(pdf.id)[1].text
    docx = materials.add(meeting, make_docx(), original_name="b.docx")
    assert "防災倉庫" in materials.pages(docx.id)[0].text and "消防費\t12,000千円" in materials.pages(docx.id)[0].text
    xlsx = materials.add(meeting, make_xlsx(), original_name="c.xlsx")
    assert [p.label for p in materials.pages(xlsx.id)] == ["シート「歳入」", "シート「歳出」"]
    assert "町税\t4200000" in materials.pages(xlsx.id)[0].text
    pptx = materials.add(meeting, make_pptx(), original_name="d.pptx")
    assert "公共交通の再編" in materials.pages(pptx.id)[1].text
    csv = materials.add(meeting, "氏名,会派\n山田,新風会\n".encode("cp932"), original_name="e.csv")
    assert "新風会" in materials.pages(csv.id)[0].text
    search = as_(engine, materials.settings).search
    hits = search.search(SearchQuery("disaster prevention")).materials
    assert [(h.material_id, h.page) for h in hits] == [(pdf.id, 2)]
    assert hits[0].link == f"materials?meeting={meeting}&material={pdf.id}&page=2"
    assert [h.material_id for h in search.search(SearchQuery("河川改修費")).materials] == [xlsx.id]
    assert [h.label for h in search.search(SearchQuery("会派")).materials] == ["本文"]  # two characters
    assert search.search(SearchQuery("会派", scope="utterances")).materials == ()
    materials.delete(csv.id)
    assert search.search(SearchQuery("会派")).materials == ()
    assert not csv.path.exists()


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("議案.pdf", make_docx, "中身はWord 文書"),
        ("写真.jpg", lambda: make_image("PNG"), "中身は画像（.png）"),
        ("予算書.docx", make_xlsx, "中身はExcel"),
        ("資料.pdf", lambda: b"MZ\x90\x00" + bytes(range(256)) * 4, "対応していません"),
        ("資料.txt", lambda: make_pdf([["x"]]), "中身はPDF"),
        ("古い.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "古い Office 形式"),
        ("まとめ.zip", lambda: _zip({"a.txt": b"x"}), "ZIP 圧縮ファイル"),
        ("資料.exe", lambda: "テキスト".encode(), "拡張子「.exe」"),
        ("壊れた.png", lambda: make_image("PNG")[:40], "壊れて"),
        ("空.pdf", lambda: b"", "空です"),
    ],
    ids=["docx-as-pdf", "png-as-jpg", "xlsx-as-docx", "exe", "pdf-as-txt", "ole", "zip", "exe-ext", "broken", "empty"],
)
def test_refused_files_leave_nothing_behind(materials, meeting, name, make, message):
    with pytest.raises(InputError) as refused:
        materials.add(meeting, make(), original_name=name)
    assert message in refused.value.message, refused.value.message
    assert materials.list(meeting) == []
    assert not [p for p in (materials.settings.data_dir / "materials").rglob("*") if p.is_file()]


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_bombs_and_size_limit(materials, meeting, monkeypatch):
    monkeypatch.setattr("minutes.services.material_files.MAX_UNCOMPRESSED", 10_000)
    with pytest.raises(InputError, match="展開すると"):
        materials.add(meeting, make_docx(), original_name="a.docx")
    monkeypatch.setattr("minutes.services.material_files.MAX_PIXELS", 1000)
    with pytest.raises(InputError, match="画像が大きすぎます"):
        materials.add(meeting, make_image("PNG", (100, 100)), original_name="a.png")
    small = as_(materials.engine, dataclasses.replace(materials.settings, max_material_mb=1)).materials
    with pytest.raises(InputError, match=r"上限 1 MB.*資料の最大サイズ"):
        small.add(meeting, b"a" * (2 << 20), original_name="big.txt")
    monkeypatch.setenv("MINUTES_MAX_MATERIAL_MB", "1")
    with pytest.raises(InputError, match="上限 1 MB"):
        as_(
            materials.engine, dataclasses.replace(Settings.from_env(), data_dir=materials.settings.data_dir)
        ).materials.add(meeting, b"a" * (2 << 20), original_name="big.txt")
    monkeypatch.setenv("MINUTES_MAX_MATERIAL_MB", "many")
    with pytest.raises(InputError, match="整数ではありません"):
        Settings.from_env()
    assert not [p for p in (materials.settings.data_dir / "materials").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.txt", "..\\..\\boot.ini.txt", "a/b/../../c.txt", "\x00\x1b[31m赤.txt", "長" * 400 + ".txt"],
)
def test_odd_names_are_harmless(materials, meeting, name):
    info = materials.add(meeting, "本文".encode(), original_name=name)
    root = (materials.settings.data_dir / "materials").resolve()
    assert info.path.resolve().is_relative_to(root) and info.path.suffix == ".txt"
    assert "/" not in info.original_name and "\\" not in info.original_name
    assert all(ch.isprintable() for ch in info.original_name) and len(info.original_name) <= 255
    assert "/" not in info.download_name and ".." not in info.download_name.replace("...", "")


def test_detect_checks_the_office_main_part(tmp_path):
    fake = tmp_path / "fake.docx"
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    fake.write_bytes(_zip({"[Content_Types].xml": types.encode()}))
    with pytest.raises(InputError):
        detect(fake)  # names a main part the zip does not hold


def test_finalized_meeting_refuses_changes(materials, meeting, engine, tmp_path):
    info = materials.add(meeting, "本文".encode(), original_name="a.txt")
    as_(engine, materials.settings, "課長").details.finalize(meeting, expected_version=1)
    with pytest.raises(FinalizedError):
        materials.add(meeting, "本文".encode(), original_name="b.txt")
    with pytest.raises(FinalizedError):
        materials.delete(info.id)
    with pytest.raises(InputError, match="編集者名"):
        as_(engine, materials.settings, " ").materials.add(meeting, b"x", original_name="c.txt")


def test_a_changed_stored_file_is_noticed(materials, meeting):
    info = materials.add(meeting, "本文".encode(), original_name="a.txt")
    info.path.write_bytes("改ざん".encode())
    with pytest.raises(InputError, match="改ざん"):
        materials.data(info.id)
