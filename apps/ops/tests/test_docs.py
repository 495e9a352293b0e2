"""Every command and script the docs name exists."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands

BASE = Path(settings.BASE_DIR)
DOCS = [BASE / "README.md", *sorted((BASE / "docs").glob("*.md"))]
COMMAND = re.compile(r"manage\.py\s+([a-z][a-z0-9_]*)")
BARE = re.compile(
    r"`(run_eod|run_preopen|run_mtm|run_risk|run_attribution|verify_[a-z]+|"
    r"import_[a-z0-9_]+|fetch_bcb|seed_demo|generate_[a-z_]+)\b"
)
SCRIPT = re.compile(r"(scripts/[\w./-]+\.sh)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_command_exists(doc: Path) -> None:
    text = doc.read_text()
    named = set(COMMAND.findall(text)) | set(BARE.findall(text))
    missing = sorted(name for name in named if name not in get_commands())
    assert missing == [], f"{doc.name} names commands that do not exist: {missing}"
    scripts = sorted(s for s in set(SCRIPT.findall(text)) if not (BASE / s).exists())
    assert scripts == [], f"{doc.name} names scripts that do not exist: {scripts}"


def test_the_operational_docs_exist() -> None:
    for name in (
        "ARCHITECTURE.md",
        "GOLIVE_CHECKLIST.md",
        "OPERATIONAL_RUNBOOK.md",
        "DR_PLAYBOOK.md",
        "MARKET_DATA.md",
    ):
        assert (BASE / "docs" / name).stat().st_size > 1000
