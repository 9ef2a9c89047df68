"""Data models (pydantic) shared by the handlers and services."""
