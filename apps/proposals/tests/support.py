"""The proposals tests' trading day."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

TODAY = date(2025, 2, 4)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
