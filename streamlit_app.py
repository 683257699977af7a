"""The Streamlit app: a router over the pages in ``ui/pages``. Run with ``streamlit run streamlit_app.py``.

Nothing but the sign-in page is shown until the session token validates (``ui.state.setup``); the services check
every action against the signed-in user again, so hidden pages are a convenience, not the protection.
"""

import streamlit as st

from minutes.services import Permission
from ui import state

# No page or page_icon icons: they become the favicon, which Streamlit fetches from a CDN (fonts.gstatic.com).
st.set_page_config(page_title="会議録作成", layout="wide")
# Streamlit's input hints ("Press Enter to submit form") exist only in English: hidden, Enter still works.
st.html("<style>[data-testid='InputInstructions'] { display: none; }</style>")
# The file uploader's words are English only ("Upload", "4GB per file • CSV", "Drag and drop a file here", "Add
# files"): the text is made invisible (font-size 0, so it takes no room) and Japanese is drawn in its place.
_UPLOADER = "[data-testid='stFileUploader']"
_LIMIT_MB = st.get_option("server.maxUploadSize")
_DRAGGED = "[data-testid='stFileUploaderDropzoneInput'] + div:not(:has(button)) > span"
st.html(
    "<style>"
    f"{_UPLOADER} button [data-testid='stMarkdownContainer'] p {{ font-size: 0; }}"
    f"{_UPLOADER} button [data-testid='stMarkdownContainer'] p::after {{ content: 'ファイルを選ぶ'; font-size: 1rem; }}"
    f"[data-testid='stFileUploaderDropzoneInstructions'] span {{ font-size: 0; }}"
    f"[data-testid='stFileUploaderDropzoneInstructions'] span::after {{"
    f" content: 'ここへのドラッグ＆ドロップでも選べます（1 ファイル {_LIMIT_MB:,} MB まで）'; font-size: 0.875rem; }}"
    # while a file is dragged over: a box with one line of text and no button (the list of chosen files has buttons)
    f"{_DRAGGED} {{ font-size: 0; }}"
    f"{_DRAGGED}::after {{"
    f" content: 'ここに置いてください'; font-size: 1rem; }}"
    "</style>"
)

# A damaged or unreadable database: a Japanese page saying what to do, not Streamlit's English error page.
with state.database_guard():
    if "display" in st.query_params:
        # 字幕表示 (gallery screen): the link's token is all it needs; no sign-in, no navigation, nothing else
        st.navigation([st.Page("ui/pages/captions.py", title="字幕表示", default=True)], position="hidden").run()
        st.stop()
    user = state.setup()
    pages = [
        st.Page("ui/pages/meetings.py", title="会議一覧", default=True),
        st.Page("ui/pages/search.py", title="検索"),
        st.Page("ui/pages/new_meeting.py", title="新しい会議"),
        st.Page("ui/pages/live.py", title="ライブ"),
        st.Page("ui/pages/meeting.py", title="会議の情報・確定"),
        st.Page(
            "ui/pages/editor.py",
            title=state.EDITOR_TITLE if user is None or user.can(Permission.EDIT) else state.READER_TITLE,
        ),
        st.Page("ui/pages/speakers.py", title="話者"),
        st.Page("ui/pages/materials.py", title="資料"),
        st.Page("ui/pages/people.py", title="名簿"),
        st.Page("ui/pages/dictionary.py", title="用語辞書"),
        st.Page("ui/pages/users.py", title="利用者"),
        st.Page("ui/pages/audit.py", title="監査ログ"),
        st.Page("ui/pages/admin.py", title="管理（設定・モデル）"),
        st.Page("ui/pages/account.py", title="アカウント"),
    ]
    if user is None:
        # Every page is registered (so a link such as /editor?meeting=3 survives the sign-in) but none runs.
        st.navigation(pages, position="hidden")
        state.login_page()
        st.stop()
    if user.must_change_password:
        # An initial or reset password, which someone else knows: nothing else until the user has chosen their own.
        st.navigation([p for p in pages if p.title == "アカウント"], position="hidden").run()
        st.stop()
    hidden = {
        "新しい会議": not user.can(Permission.CREATE_MEETING),
        "ライブ": not user.can(Permission.READ_DRAFT),
        "利用者": not user.can(Permission.MANAGE_USERS),
        "監査ログ": not user.can(Permission.VIEW_AUDIT),
        "管理（設定・モデル）": not user.can(Permission.MANAGE_SETTINGS),
    }
    # expanded: every page listed (a collapsed menu ends in Streamlit's English 「View N more」)
    st.navigation([p for p in pages if not hidden.get(p.title)], expanded=True).run()
