"""pms_celery_workers_live counts a real Celery worker that answers the ping (the worker of
test_celery_worker.py: a subprocess on a Redis broker of its own)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from apps.ops.tests.support import sample, scrape
from apps.ops.tests.test_celery_worker import services, worker  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_live_worker_is_counted(client: Client, settings: Any, request: Any) -> None:
    running = request.getfixturevalue("worker")
    settings.CELERY_BROKER_URL = running["broker"]
    settings.METRICS_TOKEN = ""
    deadline, live = time.monotonic() + 60, 0.0
    while time.monotonic() < deadline and not live:  # until the worker has started
        live = sample(scrape(client), "pms_celery_workers_live") or 0.0
    assert live >= 1
