"""The 補正ルール section of the 用語辞書 page: the rules (誤→正) applied to new drafts' 整文 layer, their addition and
deletion, and the replacements clerks made in two or more places, proposed as rules (accepted in one click)."""

from __future__ import annotations

import streamlit as st

from minutes.errors import MinutesError
from ui import state

NOTICE = "dictionary_notice"  # shown by the page after the rerun


def _done(message: str) -> None:
    st.session_state[NOTICE] = message
    st.rerun()


def _proposals(corrections) -> None:
    proposals = corrections.proposals()
    if not proposals:
        return
    st.markdown("**編集から学んだ提案**")
    st.caption("職員が 2 か所以上で同じ置き換えをした語です。採用するまで、どの文字起こしにも適用されません。")
    for proposal in proposals:
        where = f"{proposal.places} か所（{proposal.meetings} 会議）"
        text, accept, with_term, dismiss = st.columns([3, 1, 1.4, 1])
        text.markdown(f"「{proposal.wrong}」→「{proposal.right}」　{where}")
        try:
            if accept.button("ルールに採用", key=f"proposal_accept_{proposal.id}", type="primary"):
                corrections.accept(proposal.id)
                _done(f"「{proposal.wrong}→{proposal.right}」を補正ルールにしました。")
            if not proposal.term_known and with_term.button("用語辞書にも登録", key=f"proposal_term_{proposal.id}"):
                corrections.accept(proposal.id, add_term=True)
                _done(
                    f"「{proposal.wrong}→{proposal.right}」を補正ルールにし、「{proposal.right}」を用語辞書に登録しました。"
                )
            if dismiss.button("見送る", key=f"proposal_dismiss_{proposal.id}"):
                corrections.dismiss(proposal.id)
                _done(f"「{proposal.wrong}→{proposal.right}」を見送りました（今後は提案しません）。")
        except MinutesError as error:
            state.show_error(error)


def correction_rules(editable: bool) -> None:
    """The section: the rules for everyone; adding, deleting and the proposals for those who may change them."""
    corrections = state.services().corrections
    st.subheader("補正ルール（誤→正）")
    st.caption(
        "これからの文字起こしの整文で、誤った認識を正しい表記に直します（素起こしはそのまま残ります）。"
        "文脈を入れると、その語句の中だけで直します（例: 誤「長栄」・正「町営」・文脈「長栄バス」）。"
    )
    rules = corrections.rules()
    if rules:
        st.dataframe(
            [{"誤": r.wrong, "正": r.right, "文脈": r.context, "登録者": r.created_by} for r in rules],
            hide_index=True,
            width="stretch",
        )
    else:
        st.info("まだ補正ルールがありません。", icon=":material/info:")
    if not editable:
        return
    _proposals(corrections)
    with st.form("rule_add", clear_on_submit=True):
        a, b, c = st.columns(3)
        wrong = a.text_input("誤（認識結果）*", max_chars=60, key="rule_wrong", placeholder="長栄バス")
        right = b.text_input("正（会議録の表記）*", max_chars=60, key="rule_right", placeholder="町営バス")
        context = c.text_input("文脈（任意）", max_chars=60, key="rule_context")
        if st.form_submit_button("ルールを追加", type="primary"):
            try:
                added = corrections.add(wrong, right, context=context)
                _done(f"補正ルール「{added.wrong}→{added.right}」を追加しました。")
            except MinutesError as error:
                state.show_error(error)
    if rules:
        labels = {r.id: f"{r.wrong} → {r.right}" + (f"（文脈: {r.context}）" if r.context else "") for r in rules}
        left, right_column = st.columns([3, 1])
        chosen = left.selectbox("削除するルール", list(labels), format_func=labels.get, key="rule_delete_choice")
        if right_column.button("ルールを削除", key="rule_delete"):
            try:
                corrections.delete(chosen)
                _done(f"補正ルール「{labels[chosen]}」を削除しました。")
            except MinutesError as error:
                state.show_error(error)
