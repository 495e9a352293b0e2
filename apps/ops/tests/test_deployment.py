"""The production image and compose stack, checked without Docker: the static build, one list of
system packages for the image and CI, the proxy in front of gunicorn, gunicorn's settings and the
hashed lock files (issue 14 §6). `make image-build` runs the image's build script itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

BASE = Path(settings.BASE_DIR)
# Django's manifest storage (what fails on a missing reference); the image adds compression.
MANIFEST_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"


def _read(name: str) -> str:
    return (BASE / name).read_text()


def _apt_list(name: str) -> list[str]:
    lines = (re.sub(r"#.*", "", line).strip() for line in _read(name).splitlines())
    return [line for line in lines if line]


def test_collectstatic_with_the_manifest_storage_succeeds(tmp_path: Path) -> None:
    """What `docker build` runs: every file a vendored asset names (a source map) must ship."""
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    with override_settings(STORAGES=storages, STATIC_ROOT=tmp_path):
        call_command("collectstatic", "--noinput", verbosity=0)
    assert "js/chart-4.6.1.umd.min.js" in _read_manifest(tmp_path)


def _read_manifest(root: Path) -> dict[str, Any]:
    paths: dict[str, Any] = json.loads((root / "staticfiles.json").read_text())["paths"]
    return paths


def test_the_image_and_ci_install_one_list_of_system_packages() -> None:
    runtime = _apt_list("deploy/apt-runtime.txt")
    assert {"libpango-1.0-0", "libpangoft2-1.0-0"} <= set(runtime), "WeasyPrint needs Pango"
    assert "chromium" not in runtime, "browsers are CI's (deploy/apt-ci.txt), not the image's"
    assert not set(runtime) & set(_apt_list("deploy/apt-ci.txt"))
    assert "deploy/apt-install.sh deploy/apt-runtime.txt" in _read("Dockerfile")
    assert "deploy/apt-install.sh deploy/apt-runtime.txt deploy/apt-ci.txt" in _read(".ci/run")
    assert "apt-get install" not in _read("Dockerfile") + _read(".ci/run"), "one installer"


def test_the_image_builds_with_the_script_make_test_runs() -> None:
    dockerfile = _read("Dockerfile")
    assert "deploy/image-build.sh" in dockerfile
    assert "collectstatic" not in dockerfile, "build steps live in deploy/image-build.sh only"
    assert re.search(r"^test:.*\bimage-build\b", _read("Makefile"), re.MULTILINE)


def test_env_example_trusts_no_proxy_and_compose_sets_one_behind_caddy() -> None:
    assert re.search(r"^PROXY_COUNT=0$", _read(".env.example"), re.MULTILINE)
    services = yaml.safe_load(_read("docker-compose.yml"))["services"]
    published = sorted(
        name
        for name, service in services.items()
        if any(not port.startswith("127.0.0.1:") for port in service.get("ports", []))
    )
    assert published == ["proxy"], "only the TLS proxy is reachable from outside"
    # (The monitoring profile's UIs are published on the host's loopback: an SSH tunnel.)
    assert services["proxy"]["image"].startswith("caddy")
    assert services["web"]["environment"]["PROXY_COUNT"] == "1"
    assert "DATABASE_URL" in services["web"]["environment"], "web keeps the shared environment"
    for name in ("worker", "beat", "migrate"):
        assert "PROXY_COUNT" not in services[name]["environment"]
    assert "reverse_proxy web:8000" in _read("deploy/Caddyfile")


def _gunicorn_config() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__file__": str(BASE / "gunicorn.conf.py")}
    exec(compile(_read("gunicorn.conf.py"), "gunicorn.conf.py", "exec"), namespace)
    return namespace


def test_the_image_runs_gunicorn_with_its_config_file() -> None:
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"]' in _read("Dockerfile")
    conf = _gunicorn_config()
    assert conf["wsgi_app"] == "pms_project.wsgi:application"
    assert conf["accesslog"] == "-" and conf["errorlog"] == "-"
    assert conf["workers"] >= 1 and conf["threads"] >= 1
    assert conf["graceful_timeout"] <= conf["timeout"]
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"


def test_gunicorn_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "120")
    conf = _gunicorn_config()
    assert (conf["workers"], conf["timeout"]) == (3, 120)
    monkeypatch.setenv("GUNICORN_WORKERS", "many")
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS"):
        _gunicorn_config()


def _locked(name: str) -> dict[str, str]:
    """Package → version of a lock file; each pin must be followed by its hashes."""
    text = _read(name)
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+) \\\n\s+--hash=sha256:", text, re.M))
    bare = re.findall(r"^[A-Za-z0-9_.\-]+==\S+\s*$", text, re.MULTILINE)
    assert not bare, f"{name}: pins without hashes: {bare}"
    return {re.sub(r"[-_.]+", "-", k.lower()): v for k, v in pins.items()}


def _direct(name: str) -> set[str]:
    lines = (re.sub(r"#.*", "", line).strip() for line in _read(name).splitlines())
    names = (re.split(r"[\[~=<>!; ]", line)[0] for line in lines if line and line[0] != "-")
    return {re.sub(r"[-_.]+", "-", n.lower()) for n in names}


@pytest.mark.parametrize(
    ("lock", "source"),
    [("requirements.txt", "requirements.in"), ("requirements-dev.txt", "requirements-dev.in")],
)
def test_the_whole_tree_is_locked_with_hashes(lock: str, source: str) -> None:
    pins = _locked(lock)
    assert _direct(source) <= set(pins), f"{source} names a package {lock} does not pin"
    assert re.fullmatch(r"5\.2\.\d+", pins["django"])
    assert len(pins) > len(_direct(source)), "transitive dependencies are pinned too"


def test_both_lock_files_agree_and_every_install_requires_hashes() -> None:
    runtime, dev = _locked("requirements.txt"), _locked("requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert {"schemathesis", "import-linter"} <= set(dev)
    assert "--require-hashes -r requirements-dev.txt" in _read("Makefile")
    assert "--require-hashes" in _read("Dockerfile")
