"""Gradio interface pieces of app.py, one module per tab."""
