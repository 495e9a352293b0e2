"""DataVersion moved from ops to core without touching its table: a database migrated before
the move keeps its rows (and the versions every cached key carries)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.core.models import DataVersion

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE: list[tuple[str, str | None]] = [
    ("ops", "0004_merge_0003_run_journal_anchor_0003_run_lease"),
    ("core", None),
]
AFTER: list[tuple[str, str | None]] = [
    ("ops", "0005_dataversion_to_core"),
    ("core", "0001_dataversion"),
]


def _migrate(targets: Sequence[tuple[str, str | None]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    nodes = [(app, name) for app, name in targets if name is not None]
    return executor.loader.project_state(nodes).apps


@pytest.fixture(autouse=True)
def _back_to_the_latest_migrations() -> Iterator[None]:
    """Leave the database as every other test expects it: every app at its latest migration
    (AFTER is only this move's; the core migrations that came beside it must come back)."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_an_existing_database_keeps_its_data_versions() -> None:
    old_apps = _migrate(BEFORE)
    with pytest.raises(LookupError):
        old_apps.get_model("core", "DataVersion")
    OldVersion = old_apps.get_model("ops", "DataVersion")
    OldVersion.objects.update_or_create(scope="market", defaults={"version": 41})
    OldVersion.objects.update_or_create(scope="portfolio:7", defaults={"version": 9})

    new_apps = _migrate(AFTER)

    with pytest.raises(LookupError):
        new_apps.get_model("ops", "DataVersion")
    rows = dict(new_apps.get_model("core", "DataVersion").objects.values_list("scope", "version"))
    assert rows["market"] == 41 and rows["portfolio:7"] == 9
    # The version column only: later columns (changed_at, core 0003) are not there yet.
    assert DataVersion.objects.values_list("version", flat=True).get(scope="market") == 41
    assert DataVersion._meta.db_table == "ops_dataversion"
