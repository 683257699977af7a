"""資料: materials of a meeting, by agenda item. Upload (checked by content), view in the page (PDF pages rendered on
this server, images, the text of Office files), download, move to another agenda item, delete."""

from __future__ import annotations

import re

import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission, who_can
from minutes.services.agenda import agenda_label
from minutes.services.material_files import ACCEPTED_EXTENSIONS
from minutes.services.materials import MaterialInfo
from minutes.services.views import MaterialKind
from ui import state

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")

meeting_id, services, info = state.open_meeting()
materials = services.materials
may_upload = state.can(Permission.UPLOAD_MATERIAL)
may_change = may_upload and state.can(Permission.EDIT)  # the service checks moving and deleting as edits

st.title("資料")
st.caption(f"{info.title}　{state.format_date(info.held_at)}")
agenda = {a.order: a for a in info.details.agenda if a.order is not None}
orders = [None, *sorted(agenda)]


def _agenda_name(order: int | None) -> str:
    return "会議全体" if order is None else agenda_label(agenda[order]) if order in agenda else f"日程第{order}"


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{max(1, n // 1024):,} KB"


def _escape(text: str) -> str:
    """User text (a file's name or contents) as literal markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


flash = st.session_state.setdefault("materials_flash", [])
for kind, message in flash:
    (st.error if kind == "error" else st.success)(message)
flash.clear()

# ---------------------------------------------------------------- upload

if not may_upload:
    st.caption(f"資料の追加・削除は{who_can(Permission.UPLOAD_MATERIAL)}が行います。")
elif info.finalized:
    how = (
        "確定を解除してください"
        if state.can(Permission.FINALIZE)
        else f"{who_can(Permission.FINALIZE)}に確定の解除を依頼してください"
    )
    st.info(
        f"確定済みの会議録です。資料は確定時の版のアーカイブに保存されています。追加・削除するには{how}。",
        icon=":material/lock:",
    )
else:
    with st.expander("資料を追加", expanded=not materials.list(meeting_id), icon=":material/upload_file:"):
        with st.form("material_upload", clear_on_submit=True):
            limit_mb = services.settings.max_material_mb
            files = st.file_uploader(
                f"ファイル（PDF・Word・Excel・PowerPoint・画像・テキスト、1 ファイル {limit_mb:,} MB まで）",
                type=[e.lstrip(".") for e in ACCEPTED_EXTENSIONS],
                accept_multiple_files=True,
                key="material_files",
            )
            left, right = st.columns([2, 3])
            order = left.selectbox(
                "議事日程", orders, format_func=_agenda_name, placeholder="会議全体", key="material_agenda"
            )
            title = right.text_input("資料名（省略時はファイル名）", key="material_title")
            submitted = st.form_submit_button("追加する", type="primary")
        if submitted:
            if not files:
                st.error("ファイルを選んでください。")
            for file in files or []:
                try:
                    added = materials.add(
                        meeting_id,
                        file,
                        original_name=file.name,
                        agenda_order=order,
                        title=title if len(files) == 1 else "",
                    )
                    facts = f"{added.kind_label}、{_size(added.size_bytes)}"
                    flash.append(("ok", f"「{_escape(added.title)}」を追加しました（{facts}）。"))
                    st.session_state.material_shown = added.id
                except MinutesError as error:
                    flash.append(("error", f"「{_escape(file.name)}」: {error.message}"))
            st.rerun()

# ---------------------------------------------------------------- list

listed: list[MaterialInfo] = materials.list(meeting_id)
if not listed:
    st.caption("この会議の資料はまだありません。")
    st.stop()

st.dataframe(
    [
        {
            "議事日程": _agenda_name(m.agenda_order),
            "資料名": m.title,
            "種類": m.kind_label,
            "ページ数": m.pages,
            "大きさ": _size(m.size_bytes),
            "登録者": m.uploaded_by,
            "登録日時": state.format_moment(m.uploaded_at),
        }
        for m in listed
    ],
    hide_index=True,
    width="stretch",
)

ids = [m.id for m in listed]
by_id = {m.id: m for m in listed}
wanted = st.query_params.get("material")
if wanted and st.session_state.get("material_link") != wanted:  # opened from a search result
    st.session_state.material_link = wanted
    if wanted.isdigit() and int(wanted) in by_id:
        st.session_state.material_shown = int(wanted)
        page_param = st.query_params.get("page", "1")
        st.session_state[f"material_page-{wanted}"] = int(page_param) if page_param.isdigit() else 1
if st.session_state.get("material_shown") not in ids:
    st.session_state.material_shown = ids[0]
shown_id = st.selectbox(
    "表示する資料",
    ids,
    format_func=lambda i: f"{_agenda_name(by_id[i].agenda_order)}｜{by_id[i].title}（{by_id[i].kind_label}）",
    key="material_shown",
)
material = by_id[shown_id]

# ---------------------------------------------------------------- viewer

st.subheader(_escape(material.title))
st.caption(
    f"{material.kind_label}・{_size(material.size_bytes)}・元のファイル名「{_escape(material.original_name)}」・"
    f"{_escape(material.uploaded_by)} さんが {state.format_moment(material.uploaded_at)} に登録・"
    f"SHA-256 {material.sha256[:16]}…"
)
tools = st.columns([2, 2, 3], vertical_alignment="bottom")
try:
    tools[0].download_button(
        "ダウンロード",
        data=materials.data(material.id),
        file_name=material.download_name,
        mime=material.mime_type,
        icon=":material/download:",
        key=f"download-{material.id}",
    )
except MinutesError as error:
    tools[0].error(error.message)
except OSError:
    tools[0].error("資料のファイルが見つかりません。管理者に連絡してください。")

if may_change and not info.finalized:
    with tools[2].popover("日程の変更・削除"):
        moved = st.selectbox(
            "議事日程",
            orders,
            index=orders.index(material.agenda_order) if material.agenda_order in orders else 0,
            format_func=_agenda_name,
            placeholder="会議全体",
            key=f"move-{material.id}",
        )
        if st.button("日程を変更", key=f"do-move-{material.id}"):
            try:
                materials.set_agenda(material.id, agenda_order=moved)
                st.rerun()
            except MinutesError as error:
                state.show_error(error)
        sure = st.checkbox("この資料を削除します", key=f"sure-{material.id}")
        if st.button("削除", key=f"delete-{material.id}", disabled=not sure):
            try:
                materials.delete(material.id)
                flash.append(("ok", f"「{_escape(material.title)}」を削除しました。"))
                st.session_state.pop("material_shown", None)
                st.rerun()
            except MinutesError as error:
                state.show_error(error)

pages = materials.pages(material.id)


if material.kind == MaterialKind.PDF:
    key = f"material_page-{material.id}"
    if st.session_state.get(key, 1) > max(material.pages, 1):
        st.session_state[key] = 1
    page = tools[1].number_input(f"ページ（全 {material.pages}）", 1, max(material.pages, 1), step=1, key=key)
    try:
        # a column keeps a page readable on wide screens; the PNG itself stays sharp (not scaled down on the server)
        st.columns([4, 1])[0].image(str(materials.preview(material.id, int(page))), width="stretch")
        st.markdown(  # a page edge, so a white page stands out from the white background
            "<style>[data-testid=stMain] [data-testid=stImage] img "
            "{ border: 1px solid #d0d0d0; box-shadow: 0 2px 6px rgba(0,0,0,.15); }</style>",
            unsafe_allow_html=True,
        )
    except MinutesError as error:
        state.show_error(error)
    except Exception as error:  # a PDF PDFium cannot draw must not break the page
        st.warning(f"このページを表示できませんでした（{type(error).__name__}）。ダウンロードして開いてください。")
    text = next((p.text for p in pages if p.page == page), "")
    with st.expander("このページの文字（検索の対象）"):
        st.markdown(_escape(text) if text.strip() else "（文字がありません。画像だけのページの可能性があります）")
elif material.kind == MaterialKind.IMAGE:
    st.image(str(materials.preview(material.id)), width="content")
else:
    if len(pages) > 1:
        labels = {p.page: p.label for p in pages}
        chosen = tools[1].selectbox(
            material.page_word, list(labels), format_func=labels.get, key=f"material_page-{material.id}"
        )
        pages = [p for p in pages if p.page == chosen]
    for page in pages:
        with st.container(border=True, height=600):
            if material.kind == MaterialKind.XLSX or material.original_name.lower().endswith((".csv", ".tsv")):
                st.code(page.text or "（空）", language=None, wrap_lines=False)
            else:
                st.markdown(_escape(page.text) if page.text.strip() else "（文字がありません）")
    st.caption("Office 文書は文字だけを表示しています。レイアウトを確認するにはダウンロードして開いてください。")
