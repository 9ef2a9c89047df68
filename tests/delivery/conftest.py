"""Delivery tests: Binder, the learner release, class grading."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: builds environments or starts servers (deselect with -m 'not slow')")
