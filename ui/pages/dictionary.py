"""用語辞書: the assembly's words favoured in recognition (list and search for everyone who reads minutes; add, edit,
delete and CSV import for clerks and administrators; CSV export for all), and the 補正ルール applied to drafts with the
proposals learnt from clerks' edits (``ui/corrections_tools.py``)."""

from __future__ import annotations

import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission, who_can
from ui import state
from ui.corrections_tools import correction_rules

NO_KIND = "（すべて）"
NOTICE = "dictionary_notice"  # a change's message, shown after the rerun that lists the change

st.title("用語辞書")
st.caption(
    "ここに登録した人名・地名・施設名・事業名などは、これからの文字起こしで優先して認識されます（会議の議事日程・"
    "出席者・資料名と、組み込みの議会用語も使われます）。登録前に処理した会議には反映されません。"
)
dictionary = state.services().dictionary
editable = state.can(Permission.MANAGE_DICTIONARY)
if notice := st.session_state.pop(NOTICE, None):
    st.success(notice, icon=":material/check:")

left, right = st.columns([3, 1])
query = left.text_input("検索（表記・読み）", key="dictionary_query", placeholder="例: バス、ちょうえい")
kind = right.selectbox("種別", [NO_KIND, *dictionary.kinds], key="dictionary_kind")
try:
    terms = dictionary.terms(query=query, kind="" if kind == NO_KIND else kind)
    total = dictionary.count()
except MinutesError as error:
    state.show_error(error)
    st.stop()

if terms:
    st.dataframe(
        [{"表記": t.text, "読み": t.reading, "種別": t.kind, "更新者": t.updated_by} for t in terms],
        hide_index=True,
        width="stretch",
    )
else:
    st.info("該当する用語はありません。" if total else "まだ用語が登録されていません。", icon=":material/info:")
st.caption(f"{len(terms)} 語を表示（登録 {total} 語）")
st.download_button(
    "CSV で書き出す",
    data=dictionary.export_csv(),
    file_name="用語辞書.csv",
    mime="text/csv",
    key="dictionary_export",
    help="UTF-8（BOM 付き）、見出し「表記,読み,種別」。Excel でそのまま開けます。",
)

if not editable:
    st.info(f"用語の登録・変更は{who_can(Permission.MANAGE_DICTIONARY)}が行います。", icon=":material/lock:")
    correction_rules(editable=False)
    st.stop()

st.subheader("用語の追加")
with st.form("dictionary_add", clear_on_submit=True):
    a, b, c = st.columns([2, 2, 1])
    text = a.text_input("表記 *", max_chars=60, key="dictionary_new_text", placeholder="町営バス東循環線")
    reading = b.text_input("読み（ひらがな・カタカナ）", max_chars=60, key="dictionary_new_reading")
    new_kind = c.selectbox("種別", dictionary.kinds, index=len(dictionary.kinds) - 1, key="dictionary_new_kind")
    if st.form_submit_button("追加する", type="primary"):
        try:
            added = dictionary.add(text, reading=reading, kind=new_kind)
            st.session_state[NOTICE] = f"「{added.text}」を追加しました。"
            st.rerun()
        except MinutesError as error:
            state.show_error(error)

if terms:
    st.subheader("用語の変更・削除")
    labels = {t.id: f"{t.text}（{t.kind}）" for t in terms}
    chosen = st.selectbox("用語", list(labels), format_func=labels.get, key="dictionary_edit_choice")
    target = next(t for t in terms if t.id == chosen)
    with st.form(f"dictionary_edit_{chosen}"):
        a, b, c = st.columns([2, 2, 1])
        edit_text = a.text_input("表記", value=target.text, max_chars=60)
        edit_reading = b.text_input("読み", value=target.reading, max_chars=60)
        edit_kind = c.selectbox("種別", dictionary.kinds, index=dictionary.kinds.index(target.kind))
        save, remove = st.columns(2)
        if save.form_submit_button("変更を保存", type="primary"):
            try:
                changed = dictionary.update(chosen, edit_text, reading=edit_reading, kind=edit_kind)
                st.session_state[NOTICE] = f"「{changed.text}」を変更しました。"
                st.rerun()
            except MinutesError as error:
                state.show_error(error)
        if remove.form_submit_button("この用語を削除"):
            try:
                dictionary.delete(chosen)
                st.session_state[NOTICE] = f"「{target.text}」を削除しました。"
                st.rerun()
            except MinutesError as error:
                state.show_error(error)

st.subheader("CSV から取り込む")
st.caption(
    "1行目は見出し「表記,読み,種別」。UTF-8（BOM あり・なし）。種別は 人名・地名・施設・事業・会派・議会用語・"
    "その他（空欄はその他）。すでにある表記は読みと種別を更新します。誤りのある行が1つでもあれば、何も取り込みません。"
)
upload = st.file_uploader("CSV ファイル", type=["csv"], key="dictionary_csv")
if upload is not None and st.button("取り込む", type="primary", key="dictionary_import"):
    try:
        result = dictionary.import_csv(upload.getvalue())
        counts = f"追加 {result.added} 語、更新 {result.updated} 語、変更なし {result.unchanged} 語"
        st.session_state[NOTICE] = f"取り込みました: {counts}。"
        st.rerun()
    except MinutesError as error:
        state.show_error(error)

correction_rules(editable=True)
