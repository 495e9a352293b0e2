"""Real Celery processes for the tests: a worker or beat (`celery -A pms_project …`) started
in a subprocess against this test's database (pytest-django's test_<name>, as DATABASE_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[3]
CELERY = str(Path(sys.executable).with_name("celery"))


def database_url() -> str:
    """This test's database (pytest-django's test_<name>), as DATABASE_URL."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def worker_env(broker_url: str, prefix: str, **extra: str) -> dict[str, str]:
    """A worker's environment: this test's database, `broker_url` as broker and result
    backend, the next Redis database as its cache under a key prefix of its own."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        "REDIS_URL": broker_url.removesuffix("/0") + "/1",
        "CACHE_KEY_PREFIX": f"{prefix}-{uuid.uuid4().hex[:8]}",
        "DEBUG": "false",
        "SECRET_KEY": "x",
        "DJANGO_SETTINGS_MODULE": "pms_project.settings",
        **extra,
    }


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`celery -A pms_project <args>`, its output to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [CELERY, "-A", "pms_project", *args], cwd=BASE_DIR, env=env, stdout=out, stderr=out
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate this process only (warm shutdown), then kill it if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
