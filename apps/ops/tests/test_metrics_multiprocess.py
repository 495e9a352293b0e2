"""/metrics under gunicorn with two workers: whichever worker answers the scrape, the counters
are the sum over both (prometheus_client's multiprocess mode, set up by gunicorn.conf.py), and
a worker that exits keeps its counts in the sum while its live gauges leave it.

The server is `gunicorn -c gunicorn.conf.py` in a subprocess on this test's database (committed
rows: a transactional test), with a session made here for the manager.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.error import URLError

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from prometheus_client.multiprocess import MultiProcessCollector

from apps.ops.tests.support import D3, sample
from apps.ops.tests.workers import database_url
from tests.support import BookAt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
BASE_DIR = Path(settings.BASE_DIR)
PAGE_LOOKUPS = "pms_cache_requests_total"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, metrics: Path) -> None:
        self.process, self.port, self.metrics = process, port, metrics

    def get(self, path: str, cookie: str = "") -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if cookie:
            request.add_header("Cookie", cookie)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def page_lookups_by_process(self) -> dict[int, float]:
        """pid → book page lookups that worker counted, read from its own file."""
        counts: dict[int, float] = {}
        for path in self.metrics.glob("counter_*.db"):
            suffix = path.stem.split("_")[1]
            if not suffix.isdigit():
                continue  # the archive of retired workers
            pid = int(suffix)
            for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
                counts[pid] = counts.get(pid, 0.0) + sum(
                    s.value
                    for s in metric.samples
                    if s.name == PAGE_LOOKUPS and s.labels.get("cache") == "page"
                )
        return counts


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn's workers need a database server (PostgreSQL)")
    port, metrics = _free_port(), tmp_path / "metrics"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CELERY_"))},
        "DATABASE_URL": database_url(),
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,  # the session made here must verify there
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_MANIFEST": "false",
        "METRICS_TOKEN": "",
        "METRICS_CACHE_SECONDS": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "PMS_VAR_DIR": str(tmp_path / "var"),
    }
    (metrics).mkdir()
    (metrics / "counter_1.db").write_bytes(b"left over from a previous run")  # emptied at start
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=log,
    )
    started = Server(process, port, metrics)
    try:
        _wait_until_ready(started, tmp_path / "gunicorn.log")
        yield started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_until_ready(server: Server, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            if server.get("/health")[0] == 200 and len(server.workers()) == 2:
                return
        except (URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer in 60 s: {log.read_text()[-3000:]}")


def _scrape(server: Server) -> str:
    status, text = server.get("/metrics")
    assert status == 200
    return text


def _page_lookups(text: str) -> float:
    return sum(
        sample(text, PAGE_LOOKUPS, cache="page", model="book", result=result) or 0
        for result in ("hit", "miss", "bypass")
    )


def test_every_worker_s_counts_add_up_whichever_worker_answers(
    server: Server, pm_alice: Any, book_at: BookAt
) -> None:
    fund = book_at(D3).portfolio
    client = Client()
    client.force_login(pm_alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    assert not (server.metrics / "counter_1.db").exists(), "the folder is emptied at start"

    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Until both workers have served pages (the kernel hands connections to either).
        while sent < 400 and len([n for n in server.page_lookups_by_process().values() if n]) < 2:
            batch = list(
                pool.map(lambda _: server.get(f"/book/?portfolio={fund.code}", cookie), range(16))
            )
            assert {status for status, _ in batch} == {200}
            sent += len(batch)
    by_process = server.page_lookups_by_process()
    served = {pid: n for pid, n in by_process.items() if n}
    assert len(served) == 2, f"one worker served everything: {by_process}"
    assert sum(served.values()) == sent

    # Any worker's scrape reports the sum of both, never its own share.
    for _ in range(6):
        text = _scrape(server)
        assert _page_lookups(text) == sent
        assert sample(text, "pms_pipeline_overdue", pipeline="eod", portfolio=fund.code) == 1

    # A worker that exits (recycled, killed) keeps its counts in the sum; its live gauge (the
    # breaker's state) leaves it, and gunicorn starts a new worker.
    gone = next(iter(served))
    assert (server.metrics / f"gauge_livemax_{gone}.db").exists()
    os.kill(gone, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (gone in server.workers() or len(server.workers()) < 2):
        time.sleep(0.2)
    assert gone not in server.workers() and len(server.workers()) == 2
    assert not (server.metrics / f"gauge_livemax_{gone}.db").exists(), "child_exit"
    # Its counts moved into the archive: the folder does not grow with recycled workers.
    assert not (server.metrics / f"counter_{gone}.db").exists()
    assert (server.metrics / "counter_archive.db").exists()
    text = _scrape(server)
    assert _page_lookups(text) == sent
    assert sample(text, "pms_circuit_breaker_open", breaker="redis") == 0


def test_without_a_folder_given_gunicorn_makes_its_own_and_removes_it() -> None:
    namespace: dict[str, Any] = {"__file__": str(BASE_DIR / "gunicorn.conf.py")}
    exec(
        compile((BASE_DIR / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace
    )
    saved = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        namespace["on_starting"](None)
        made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])  # what the workers inherit
        assert made.is_dir() and made.name.startswith("pms-metrics-")
        namespace["on_exit"](None)
        assert not made.exists()
    finally:  # this process stays single-process
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if saved is not None:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
