"""The folder of prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR), kept small.

Every gunicorn worker writes its counters and histograms to files of its own
(`counter_<pid>.db`, `histogram_<pid>.db`), and a scrape sums every file, the dead workers'
included, so a counter never goes backwards. Workers are recycled (GUNICORN_MAX_REQUESTS):
left alone, the folder would grow by a few files per recycled worker and every scrape would
read them all (a week of recycling, thousands of files: seconds per scrape). So when a worker
exits, gunicorn's master adds its counts into one archive file per kind and deletes its files
(`retire`, from gunicorn.conf.py's `child_exit`), under an exclusive lock that a scrape holds
shared while it reads the files (`reading`, apps.ops.metrics): a scrape sees a dead worker's
counts either in its own file or in the archive, never in both or in neither.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Kinds whose values add up across processes (each histogram bucket is stored on its own).
ADDITIVE = ("counter", "histogram", "summary")
LOCK = "scrape.lock"  # not *.db: the collector reads only *.db files


@contextmanager
def _locked(folder: str | Path, mode: int) -> Iterator[None]:
    with (Path(folder) / LOCK).open("a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def reading(folder: str | Path) -> Iterator[None]:
    """Hold while reading the files for a scrape: no worker's files are retired meanwhile."""
    with _locked(folder, fcntl.LOCK_SH):
        yield


def retire(folder: str | Path, pid: int) -> None:
    """A worker ended: its live gauges leave the sum (prometheus_client's mark_process_dead),
    its counts move into the archive files and its own files are deleted."""
    from prometheus_client.mmap_dict import MmapedDict
    from prometheus_client.multiprocess import mark_process_dead

    with _locked(folder, fcntl.LOCK_EX):
        mark_process_dead(pid, str(folder))
        for kind in ADDITIVE:
            dead = Path(folder) / f"{kind}_{pid}.db"
            if not dead.exists():
                continue
            archive = MmapedDict(str(Path(folder) / f"{kind}_archive.db"))
            try:
                for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(str(dead)):
                    kept, _ = archive.read_value(key)
                    archive.write_value(key, kept + value, timestamp)
            finally:
                archive.close()
            dead.unlink()
