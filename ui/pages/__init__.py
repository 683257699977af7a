"""The Streamlit pages (run by ``st.navigation`` in streamlit_app.py): thin, over ``ui.state.services()``."""
