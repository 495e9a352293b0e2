"""A fake Anthropic client that never touches the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


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
