"""Gunicorn settings of the production image (and of any `gunicorn` started in this folder).

Every value can be changed through the environment (GUNICORN_*), see README "Production".
Gunicorn reads this file itself: it is started as `gunicorn -c gunicorn.conf.py ...`.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name}={raw!r} must be a positive integer.")
    return int(raw)


wsgi_app = "pms_project.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Threads serve the waits (database, Redis, the Anthropic call) without a process each;
# processes give parallel CPU for the heavy pages (risk, attribution). 2×cores+1 is Gunicorn's
# rule of thumb, capped so a large host does not open more database connections than it needs.
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"

# The slowest request (the morning-pack PDF, a cold risk page) takes seconds; 60 s is a hung worker.
timeout = _int("GUNICORN_TIMEOUT", 60)
# On SIGTERM (deploy, `docker compose stop`) requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then: WeasyPrint and numpy keep memory they allocated once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# Heartbeat files on a tmpfs: a container's overlay filesystem can stall them into timeouts.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Logs to stdout/stderr, where the container runtime collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Who may set X-Forwarded-Proto (HTTPS) and friends: only the reverse proxy. The compose file
# sets "*" because gunicorn is reachable only on its internal network, behind Caddy. The client
# IP used by the login lockout is Django's concern (PROXY_COUNT), not this setting.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


# --- Prometheus: one set of metrics for all the workers -----------------------------------------
# Each worker counts its own requests. With PROMETHEUS_MULTIPROC_DIR set before the workers
# start, prometheus_client keeps each worker's values in a file there and /metrics (whichever
# worker answers) sums the files of all of them, dead ones included (moved into archive files
# when they exit), so a counter never goes backwards when a worker is recycled
# (apps/ops/metrics.py, pms_project/metrics_files.py). The folder is emptied when gunicorn
# starts (a restart starts the counters at zero, which Prometheus's rate() expects); without the
# variable, a private folder is made (in /dev/shm when there is one) and removed on exit.
_metrics_dirs_made: list[str] = []


def on_starting(server: object) -> None:
    import glob
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)
    else:
        path = tempfile.mkdtemp(prefix="pms-metrics-", dir=worker_tmp_dir)
        _metrics_dirs_made.append(path)
    # Before any worker is forked and imports prometheus_client: the workers inherit it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def child_exit(server: object, worker: object) -> None:
    """A worker ended (recycled, killed): its live gauges (the circuit breakers' state) leave
    the sum; its counts stay in it, moved into the folder's archive files so the folder does
    not grow with every recycled worker (pms_project/metrics_files.py)."""
    from pms_project.metrics_files import retire

    retire(os.environ["PROMETHEUS_MULTIPROC_DIR"], worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    import shutil

    for path in _metrics_dirs_made:
        shutil.rmtree(path, ignore_errors=True)
