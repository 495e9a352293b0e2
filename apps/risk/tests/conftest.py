"""Risk fixtures: the macro book of support.py, snapshotted."""

from __future__ import annotations

import pytest

from apps.risk.tests.support import RiskBook, build_macro_book, snapshot_book
from tests.support import BookAt


@pytest.fixture
def risk_book(book_at: BookAt) -> RiskBook:
    return snapshot_book(build_macro_book(book_at))
