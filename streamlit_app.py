"""The Streamlit app: a router over the pages in ``ui/pages``. Run with ``streamlit run streamlit_app.py``."""

import streamlit as st

from ui import state

# No page or page_icon icons: they become the favicon, which Streamlit fetches from a CDN (fonts.gstatic.com).
st.set_page_config(page_title="会議録作成", layout="wide")

pages = [
    st.Page("ui/pages/meetings.py", title="会議一覧", default=True),
    st.Page("ui/pages/search.py", title="検索"),
    st.Page("ui/pages/new_meeting.py", title="新しい会議"),
    st.Page("ui/pages/meeting.py", title="会議の情報・確定"),
    st.Page("ui/pages/editor.py", title="発言の編集"),
    st.Page("ui/pages/speakers.py", title="話者"),
    st.Page("ui/pages/materials.py", title="資料"),
]
navigation = st.navigation(pages)
state.setup()
navigation.run()
