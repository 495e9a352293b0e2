"""No test here may reach Anthropic (the fake client is in `support.py`). The demo fund's packs
are tested in apps/demo/tests: a lower floor never seeds the demo."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: Any) -> None:
    """Any attempt to build a real Anthropic client in these tests is a failure."""
    import anthropic

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to build a real Anthropic client")

    monkeypatch.setattr(anthropic, "Anthropic", refuse)
