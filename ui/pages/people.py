"""名簿: the assembly's people (議員・説明員・職員) and the titles they hold for a period; adding, editing, retiring,
titles, CSV import (with its problems shown first) and export. Everyone signed in reads it; 書記 and 管理者 change it.
A meeting's speakers are linked to these people on the 話者 page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission, who_can
from minutes.services.people import PersonView
from minutes.services.roster_csv import HEADER
from minutes.services.views import SPEAKER_KINDS
from ui import state, voice_tools

services = state.services()
may_manage = state.can(Permission.MANAGE_ROSTER)

st.title("名簿")
st.caption(
    "議員・説明員・職員と、その職名（期間つき）の一覧です。「話者」ページで話者を名簿の人に結び付けると、"
    "会議の日の職名から会議録の「○議長（高橋一郎君）」「○５番（佐藤花子君）」の行が作られます。"
)
for message in st.session_state.pop("people_flash", []):
    st.toast(message, icon=":material/save:")


def _flash(message: str) -> None:
    st.session_state.setdefault("people_flash", []).append(message)
    st.rerun()


def _frame(people: list[PersonView], with_state: bool) -> pd.DataFrame:
    rows = [
        {
            "氏名": p.name,
            "よみ": p.yomi,
            "区分": p.kind,
            "議席": "" if p.seat is None else str(p.seat),
            "会派": p.group,
            "現在の職名": p.title_on(None),
            "状態": "退任" if p.retired else "在任",
        }
        for p in people
    ]
    frame = pd.DataFrame(rows, columns=["氏名", "よみ", "区分", "議席", "会派", "現在の職名", "状態"])
    return frame if with_state else frame.drop(columns=["状態"])


show_retired = st.checkbox("退任した人も表示する", key="show_retired")
people = services.people.people(include_retired=show_retired)
if people:
    st.dataframe(_frame(people, show_retired), hide_index=True, width="stretch")
else:
    hint = "下の「人の追加」か「CSV の取り込み」で登録してください。" if may_manage else ""
    st.info(f"名簿にはまだ誰もいません。{hint}")
st.download_button(
    "名簿を CSV で書き出す",
    data=services.people.export_csv,  # made when clicked; retired people included, as the import reads it
    file_name="名簿.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="people_export",
)
if not may_manage:
    st.caption(f"名簿の変更は{who_can(Permission.MANAGE_ROSTER)}が行います。")


# ---------------------------------------------------------------- add, edit, retire, titles (書記・管理者)


def _person_fields(prefix: str, person: PersonView | None) -> dict:
    """氏名 … 会派 inputs (inside a form), filled with ``person``'s values."""
    a, b = st.columns(2)
    name = a.text_input("氏名 *", value=person.name if person else "", placeholder="高橋一郎", key=f"{prefix}-name")
    yomi = b.text_input(
        "よみ", value=person.yomi if person else "", placeholder="たかはしいちろう", key=f"{prefix}-yomi"
    )
    a, b, c = st.columns(3)
    kind = a.selectbox(
        "区分", SPEAKER_KINDS, index=SPEAKER_KINDS.index(person.kind) if person else 0, key=f"{prefix}-kind"
    )
    seat = b.number_input(
        "議席番号", min_value=1, max_value=999, value=person.seat if person else None, key=f"{prefix}-seat"
    )
    group = c.text_input("会派", value=person.group if person else "", key=f"{prefix}-group")
    return {"name": name, "yomi": yomi, "kind": kind, "seat": seat, "group": group}


DAY_HELP = "2024/04/01、20240401、令和6年4月1日、R6.4.1 のどれでも入力できます。空欄は期間の区切りなし。"


def _title_fields(prefix: str) -> tuple[str, str, str]:
    a, b, c = st.columns(3)
    title = a.text_input("職名", placeholder="議長、町長、総務課長", key=f"{prefix}-title")
    starts = b.text_input("就任日", placeholder="2024/04/01", key=f"{prefix}-starts", help=DAY_HELP)
    ends = c.text_input("退任日", placeholder="空欄は現任", key=f"{prefix}-ends", help=DAY_HELP)
    return title, starts, ends


def add_section() -> None:
    st.subheader("人の追加")
    with st.form("person_add", clear_on_submit=True):
        fields = _person_fields("add", None)
        title, starts, ends = _title_fields("add")
        submitted = st.form_submit_button("名簿に追加", type="primary", icon=":material/person_add:")
    if submitted:
        try:
            added = services.people.add(**fields, titles=[(title, starts, ends)] if title.strip() else [])
        except MinutesError as error:
            state.show_error(error)
            return
        _flash(f"{added.name} さんを名簿に追加しました")


def edit_section(people: list[PersonView]) -> None:
    st.subheader("人の編集・職名")
    if not people:
        st.caption("編集する人がいません。")
        return
    ids = [p.id for p in people]
    shown = {p.id: p.display for p in people}
    chosen = st.selectbox("編集する人", ids, format_func=shown.get, key="edit_person")
    person = next(p for p in people if p.id == chosen)
    stamp = f"{person.id}-{abs(hash(repr(person))) % 10**8}"  # new widgets once the person changes
    with st.form(f"person-edit-{stamp}"):
        fields = _person_fields(f"edit-{stamp}", person)
        saved = st.form_submit_button("保存", type="primary")
    if saved:
        try:
            services.people.update(person.id, **fields)
        except MinutesError as error:
            state.show_error(error)
        else:
            _flash(f"{fields['name']} さんを保存しました")
    label = "在任に戻す" if person.retired else "退任にする"
    if st.button(label, key=f"retire-{person.id}", help="退任にした人は過去の会議録のために残り、一覧からは隠れます。"):
        try:
            services.people.retire(person.id, retired=not person.retired)
        except MinutesError as error:
            state.show_error(error)
        else:
            _flash(f"{person.name} さんを{'在任に戻しました' if person.retired else '退任にしました'}")
    titles_section(person, stamp)


def titles_section(person: PersonView, stamp: str) -> None:
    st.markdown(f"**{person.name} さんの職名**")
    if not person.titles:
        st.caption("職名は登録されていません（議員は議席番号で「○５番（佐藤花子君）」と記されます）。")
    for title in person.titles:
        text, remove = st.columns([5, 1], vertical_alignment="center")
        text.text(f"{title.title}　{title.period or '期間の定めなし'}")
        if remove.button("削除", key=f"title-remove-{title.id}"):
            try:
                services.people.remove_title(title.id)
            except MinutesError as error:
                state.show_error(error)
            else:
                _flash(f"{person.name} さんの「{title.title}」を削除しました")
    with st.form(f"title-add-{stamp}", clear_on_submit=True):
        title, starts, ends = _title_fields(f"title-{stamp}")
        submitted = st.form_submit_button("職名を追加")
    if submitted:
        try:
            services.people.add_title(person.id, title, starts, ends)
        except MinutesError as error:
            state.show_error(error)
        else:
            _flash(f"{person.name} さんに「{title.strip()}」を追加しました")


def import_section() -> None:
    st.subheader("CSV の取り込み")
    st.caption(
        f"1 行目は見出し（{','.join(HEADER)}。氏名のほかは省略できます）。1 行に 1 人か、1 人の 1 つの職名を書き、"
        "同じ氏名の行は同じ人です。Excel の「CSV」「CSV UTF-8」のどちらでも読めます。同じファイルをもう一度取り込んでも"
        "重複せず、変わったところだけが更新されます。問題のある行が 1 つでもあると、何も取り込みません。"
    )
    key = f"people_csv-{st.session_state.get('people_csv_round', 0)}"
    upload = st.file_uploader("名簿の CSV", type=["csv", "txt"], key=key)
    if upload is None:
        return
    data = upload.getvalue()
    try:
        report = services.people.preview_csv(data)
    except MinutesError as error:
        state.show_error(error)
        return
    if report.problems:
        st.error(
            f"{len(report.problems)} 件の問題があります。直してから選び直してください。\n\n"
            + "\n".join(f"- {problem}" for problem in report.problems),
            icon=":material/warning:",
        )
        return
    st.info(f"取り込むと: {report.summary}", icon=":material/info:")
    if st.button("取り込む", type="primary", key="people_import"):
        try:
            done = services.people.import_csv(data)
        except MinutesError as error:
            state.show_error(error)
            return
        st.session_state.people_csv_round = st.session_state.get("people_csv_round", 0) + 1
        _flash(f"名簿を取り込みました: {done.summary}")


if may_manage:
    add_section()
    edit_section(people)
    import_section()


# ---------------------------------------------------------------- 声の登録 (voice profiles of the roster's people)

if may_manage:
    voice_tools.voice_section(services, people)
