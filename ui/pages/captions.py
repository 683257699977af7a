"""字幕表示: the live captions of one meeting, large and high-contrast, for the gallery's screen. Opened with a link an
administrator issued (``?display=TOKEN``), without an account; shows nothing else, and nothing at all for a revoked
link or a 非公開・秘密会 meeting."""

from __future__ import annotations

import html

import streamlit as st

from minutes.errors import MinutesError
from ui import state

st.html(
    """<style>
    header, [data-testid="stSidebar"], [data-testid="stToolbar"], footer { display: none !important; }
    .stApp { background: #000; }
    .block-container { padding-top: 1rem; max-width: 100%; }
    .captions-title { color: #bbb; font-size: 1.6rem; }
    .captions { color: #fff; font-size: 3.4rem; line-height: 1.45; font-weight: 700; height: 15.5rem;
                display: flex; flex-direction: column; justify-content: flex-end; overflow: hidden; }
    .captions .provisional { color: #ffd84d; }
    </style>"""
)


@st.fragment(run_every=1)
def _captions(token: str | None) -> None:
    try:
        shown = state.runtime().caption_display(token)
    except MinutesError as error:
        st.html(f'<div class="captions">{html.escape(error.message)}</div>')
        return
    lines = [f"<div>{html.escape(line)}</div>" for line in shown.lines]
    if shown.provisional:
        lines.append(f'<div class="provisional">{html.escape(shown.provisional)}</div>')
    if shown.state == "paused":
        lines.append("<div>（休憩中）</div>")
    elif shown.state in ("adjourning", "adjourned"):
        lines.append("<div>（散会しました）</div>")
    body = "".join(lines[-3:]) or "<div>　</div>"
    st.html(f'<div class="captions-title">{html.escape(shown.title)}</div><div class="captions">{body}</div>')


_captions(st.query_params.get("display"))
