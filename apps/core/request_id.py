"""The request id: one per request, in every log line and every error response.

An incoming `X-Request-ID` is kept when it is sane (what a proxy or a load balancer sends:
letters, digits and `-_.:`, at most 128 characters), so one id follows a request through the
proxy's log and ours; anything else is replaced by a new one. The id lives in a context
variable for the request's duration (gunicorn's sync workers serve one request per thread).
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
NONE = "-"  # log lines outside a request (commands, workers)
SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

current: ContextVar[str] = ContextVar("request_id", default=NONE)


def from_header(value: str | None) -> str:
    """The caller's id when sane, else a new one."""
    if value and SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


def get() -> str:
    return current.get()


class RequestIdFilter(logging.Filter):
    """Gives every record `request_id` (the formatter prints it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        return True
