"""proposals 0002 / positions 0003 move `Trade.proposal` into `proposals.Execution`, both ways."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.proposals.models import Execution
from apps.proposals.services import approve_proposal, execute_proposal
from apps.proposals.tests.support import TODAY

BEFORE = [("proposals", "0001_initial"), ("positions", "0002_trade_proposal")]


def _migrate(target: list[tuple[str, str]] | None = None) -> Any:
    executor = MigrationExecutor(connection)
    target = target or executor.loader.graph.leaf_nodes()
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_the_link_survives_the_move_and_its_reversal(propose: Any, cio_bob: Any, pm_alice) -> None:
    proposal = approve_proposal(propose(by=cio_bob), by=pm_alice)
    trade = execute_proposal(
        proposal, by=pm_alice, quantity=Decimal("10"), trade_date=TODAY, price=Decimal("5560")
    )
    try:
        old = _migrate(BEFORE)
        linked = old.get_model("positions", "Trade").objects.get(pk=trade.pk)
        assert linked.proposal_id == proposal.pk
    finally:
        _migrate()
    assert list(Execution.objects.values_list("proposal_id", "trade_id")) == [
        (proposal.pk, trade.pk)
    ]
