"""The read-model cache's key version is the release fingerprint: an upgrade never reads what
the previous release cached (pickled read models, HTML of old templates)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pms_project import release
from pms_project.caches import redis_caches


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: Any) -> Iterator[Path]:
    for folder in release.SOURCES:
        (tmp_path / folder).mkdir()
    (tmp_path / "apps" / "views.py").write_text("def page(): ...\n")
    (tmp_path / "templates" / "base.html").write_text("<title>PMS</title>\n")
    monkeypatch.setattr(release, "BASE_DIR", tmp_path)
    monkeypatch.delenv("CACHE_RELEASE", raising=False)
    release.fingerprint.cache_clear()
    yield tmp_path
    release.fingerprint.cache_clear()


def test_a_changed_template_or_module_changes_the_fingerprint(tree: Path) -> None:
    first = release.fingerprint()
    assert release.fingerprint() == first and len(first) == 12
    release.fingerprint.cache_clear()
    (tree / "templates" / "base.html").write_text("<title>PMS macro</title>\n")
    second = release.fingerprint()
    assert second != first
    release.fingerprint.cache_clear()
    (tree / "apps" / "views.py").write_text("def page(): return 1\n")
    assert release.fingerprint() not in (first, second)


def test_tests_and_other_files_do_not_count(tree: Path) -> None:
    first = release.fingerprint()
    release.fingerprint.cache_clear()
    (tree / "apps" / "tests").mkdir()
    (tree / "apps" / "tests" / "test_views.py").write_text("def test(): ...\n")
    (tree / "apps" / "notes.txt").write_text("draft\n")
    assert release.fingerprint() == first


def test_cache_release_pins_it_and_the_read_models_alias_carries_it(
    tree: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("CACHE_RELEASE", "git-b35831e")
    caches = redis_caches("redis://127.0.0.1:6379/0", prefix="pms", timeout=0.25)
    assert caches["readmodels"]["VERSION"] == "git-b35831e"
    assert "VERSION" not in caches["default"]  # sessions survive an upgrade
