"""Start-up fails loudly on bad configuration, naming the variable."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)


def _load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    clean.update({"SECRET_KEY": "x" * 50, "DEBUG": "false", **env})
    code = "import pms_project.settings as s; print(s.DATABASES['default']['ENGINE'])"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE, env=clean, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("REDIS_URL", "http://localhost:6379"),
        ("EMAIL_PORT", "twenty-five"),
        ("SECURE_HSTS_SECONDS", "-1"),
        ("LOG_LEVEL", "LOUD"),
        ("REDIS_SOCKET_TIMEOUT", "fast"),
        ("EOD_NOT_BEFORE", "after the close"),
        ("PIPELINE_LEASE_SECONDS", "1"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable: str, value: str) -> None:
    result = _load_settings(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_secret_key_is_required_without_debug() -> None:
    result = _load_settings(SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_unset_database_url_gives_the_embedded_sqlite() -> None:
    result = _load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_readme_and_env_example_list_every_variable_settings_read() -> None:
    source = (BASE / "pms_project/settings.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', source))
    readme = (BASE / "README.md").read_text()
    example = (BASE / ".env.example").read_text()
    assert read, "settings read no variables?"
    assert sorted(v for v in read if f"`{v}`" not in readme) == []
    assert sorted(v for v in read if v not in example) == []
