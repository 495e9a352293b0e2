"""schemathesis over the whole OpenAPI schema: no input makes the API answer a server error.

Every operation of `/api/schema/`, called in-process through the WSGI application by a user
holding every role (so each write reaches its service), with valid and invalid inputs (NUL
bytes included). A small fund with a trade, two marked days and a pending proposal gives the
ids and codes real rows to hit. Derandomized, so CI runs the same examples every time; raise
EXAMPLES (or drop `derandomize`) locally to explore further.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

from apps.marketdata.models import Instrument
from apps.ops.tests.support import long_wdo
from apps.positions.mtm import run_mtm
from apps.proposals.services import Terms, create_proposal
from apps.tokens.services import issue_token
from tests.support import make_user

EXAMPLES = 20  # per operation and mode: 39 operations × 2 modes in under two minutes


@pytest.fixture
def api_token(db: None) -> Callable[[User], str]:
    """The `Authorization` header value of a fresh API token for `user` (one place to mint)."""

    def mint(user: User) -> str:
        return f"Token {issue_token(user, name='schemathesis').key}"

    return mint


@pytest.fixture
def api_schema(
    transactional_db: None, book_at: Any, api_token: Callable[[User], str], settings: Any
) -> Any:
    """Each request commits on its own (as in production): a refused statement must not
    poison the requests after it, as it would inside one test transaction."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    book = long_wdo(book_at, date(2025, 2, 6))
    for day in (date(2025, 2, 3), date(2025, 2, 4)):
        run_mtm(book.portfolio, day, by=book.user)
    create_proposal(
        portfolio=book.portfolio,
        strategy=book.strategy,
        instrument=Instrument.objects.get(ticker="WDOH25"),
        terms=Terms("SELL", Decimal("5")),
        rationale="Take profit.",
        business_date=date(2025, 2, 6),
        by=book.user,
    )
    fuzzer = make_user("fuzzer", "manager", "approver", "back_office", "ops", staff=True)
    header = {"Authorization": api_token(fuzzer)}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=header
    )
    return schema, header


def _fuzz(operation: Any, mode: GenerationMode, header: dict[str, str]) -> str | None:
    """The first server error Hypothesis finds on `operation` (shrunk), or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=header, checks=[not_a_server_error])

    try:
        call()
    except FailureGroup as error:  # reported with the others, not raised at the first
        return f"{operation.label} ({mode.value}): {error}"
    except Unsatisfiable as error:  # a schema no request can satisfy: name the operation
        return f"{operation.label} ({mode.value}): no request could be generated: {error}"
    return None


@pytest.mark.slow
def test_no_operation_answers_a_server_error(api_schema: Any) -> None:
    schema, header = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := _fuzz(operation, mode, header))
    ]
    assert not failures, "\n\n".join(failures)
