"""The release fingerprint: a digest of the code and templates that render the read models.

Cached read models are pickled objects and cached pages are HTML from the templates: after an
upgrade, entries written by the old code must not be served (an old morning pack page would
live until the next pre-open). The `readmodels` cache alias carries the fingerprint as its key
version, so a new release starts on fresh keys and the old ones expire. Identical code gives
the same fingerprint on every web process and worker; `CACHE_RELEASE` overrides it (e.g. with
the git commit a deployment already knows).
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SOURCES = ("apps", "templates", "pms_project")
SUFFIXES = {".py", ".html"}


@cache
def fingerprint() -> str:
    """12 hex digits of SHA-256 over every source and template file's path and content (tests
    excluded: they render nothing a user sees)."""
    if os.environ.get("CACHE_RELEASE"):
        return os.environ["CACHE_RELEASE"]
    digest = hashlib.sha256()
    for top in SOURCES:
        for path in sorted((BASE_DIR / top).rglob("*")):
            if path.suffix in SUFFIXES and "tests" not in path.parts and path.is_file():
                digest.update(str(path.relative_to(BASE_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
