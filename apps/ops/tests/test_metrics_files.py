"""The multiprocess folder (pms_project.metrics_files): processes write their counts to files of
their own, a scrape sums them, and a dead process's counts move into the archive files without
a scrape ever seeing them twice or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from pms_project.metrics_files import reading, retire

WRITER = """
import os, sys
from prometheus_client import Counter, Gauge, Histogram
requests = Counter("t_requests", "requests", ["view"])
latency = Histogram("t_latency_seconds", "latency", ["view"], buckets=(0.1, 1.0))
alive = Gauge("t_alive", "alive", multiprocess_mode="livemax")
alive.set(1)
for _ in range(int(sys.argv[1])):
    requests.labels("book").inc()
    latency.labels("book").observe(0.5)
print(os.getpid())
"""


def _write(folder: Path, count: int) -> int:
    """A process that counts `count` requests into `folder` and exits; its pid."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(count)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def _scrape(folder: Path) -> dict[tuple[str, str], float]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    text = generate_latest(registry).decode()
    return {
        (s.name, s.labels.get("le", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_scrape_sums_the_processes_and_retiring_one_keeps_its_counts(tmp_path: Path) -> None:
    first, second = _write(tmp_path, 3), _write(tmp_path, 4)
    summed = _scrape(tmp_path)
    assert summed[("t_requests_total", "")] == 7
    assert summed[("t_latency_seconds_bucket", "1.0")] == 7
    assert summed[("t_latency_seconds_count", "")] == 7
    assert summed[("t_latency_seconds_sum", "")] == 3.5
    assert summed[("t_alive", "")] == 1

    retire(tmp_path, first)
    assert not (tmp_path / f"counter_{first}.db").exists()
    assert not (tmp_path / f"histogram_{first}.db").exists()
    assert not (tmp_path / f"gauge_livemax_{first}.db").exists()
    assert _scrape(tmp_path) == summed  # the live gauge: the other process still shows 1

    retire(tmp_path, second)
    after = _scrape(tmp_path)
    assert {k: v for k, v in after.items() if k[0] != "t_alive"} == {
        k: v for k, v in summed.items() if k[0] != "t_alive"
    }
    assert ("t_alive", "") not in after  # no live process
    assert sorted(p.name for p in tmp_path.glob("*.db")) == [
        "counter_archive.db",
        "histogram_archive.db",
    ]


def test_retiring_waits_for_a_scrape_that_is_reading(tmp_path: Path) -> None:
    pid = _write(tmp_path, 2)
    retired = threading.Event()

    def retire_now() -> None:
        retire(tmp_path, pid)
        retired.set()

    with reading(tmp_path):
        thread = threading.Thread(target=retire_now)
        thread.start()
        time.sleep(0.3)
        assert not retired.is_set(), "a worker's files were retired under a scrape"
        assert (tmp_path / f"counter_{pid}.db").exists()
    thread.join(timeout=10)
    assert retired.is_set()
    assert _scrape(tmp_path)[("t_requests_total", "")] == 2
