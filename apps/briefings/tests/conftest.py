"""A fake Anthropic client that never touches the network. (The demo fund's packs are tested in
apps/demo/tests: a lower floor never seeds the demo.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest


@dataclass
class FakeAnthropic:
    """Records each call; answers with `text`, or raises `error`."""

    text: str = ""
    error: Exception | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def messages(self) -> Any:
        return self

    def create(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return SimpleNamespace(content=[SimpleNamespace(type="text", text=self.text)])


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: Any) -> None:
    """Any attempt to build a real Anthropic client in these tests is a failure."""
    import anthropic

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to build a real Anthropic client")

    monkeypatch.setattr(anthropic, "Anthropic", refuse)
