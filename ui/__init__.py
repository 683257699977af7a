"""The Streamlit app's pages and helpers. Only this package (and ``streamlit_app.py``) imports Streamlit."""
