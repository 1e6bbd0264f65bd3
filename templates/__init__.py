"""Markdown templates (Jinja2) and the starter workflow, shipped with gatekeeper as data."""
