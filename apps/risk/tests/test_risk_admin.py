"""The risk back office: limits with history, scenarios with validated shocks, alerts, snapshots."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from apps.journal.models import Entry, EntryKind
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory
from apps.risk.models import Alert, Limit, StressScenario
from apps.risk.services import DEFAULT_LIMITS
from apps.risk.tests.support import RiskBook

pytestmark = pytest.mark.django_db


def _limit_data(limit: Limit, **changes: Any) -> dict[str, Any]:
    data = {
        "portfolio": limit.portfolio_id,
        "metric": limit.metric,
        "scope": limit.scope,
        "scope_value": limit.scope_value,
        "warning_level": str(limit.warning_level),
        "hard_level": str(limit.hard_level),
        "active": "on" if limit.active else "",
        "reason": "Reviewed by the risk committee.",
    }
    return {**data, **changes}


def test_limit_pages_load(admin_client, risk_book: RiskBook) -> None:
    limit = Limit.objects.filter(portfolio=risk_book.portfolio).first()
    assert limit is not None
    changelist = admin_client.get(reverse("admin:risk_limit_changelist"))
    assert changelist.status_code == 200
    assert "Add default limits to a fund" in changelist.content.decode()
    assert admin_client.get(reverse("admin:risk_limit_change", args=[limit.pk])).status_code == 200
    assert admin_client.get(reverse("admin:risk_limit_history", args=[limit.pk])).status_code == 200
    assert admin_client.get(reverse("admin:risk_limit_add")).status_code == 200


def test_every_limit_edit_is_kept_in_its_history(admin_client, risk_book: RiskBook) -> None:
    limit = Limit.objects.get(portfolio=risk_book.portfolio, metric="VAR_99", scope="PORTFOLIO")
    url = reverse("admin:risk_limit_change", args=[limit.pk])
    response = admin_client.post(url, _limit_data(limit, warning_level="0.02", hard_level="0.03"))
    assert response.status_code == 302
    limit.refresh_from_db()
    assert (str(limit.warning_level), str(limit.hard_level)) == ("0.0200", "0.0300")
    levels = [str(h.hard_level) for h in limit.history.order_by("history_date")]
    assert levels == ["0.0350", "0.0300"]
    assert limit.history.latest().history_user.is_superuser
    page = admin_client.get(reverse("admin:risk_limit_history", args=[limit.pk])).content.decode()
    assert "0.0300" in page or "Changed" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"scope": "STRATEGY", "scope_value": "nope"}, "scope_value", "Not a strategy of"),
        ({"scope": "ASSET_CLASS", "scope_value": "CRYPTO"}, "scope_value", "Not an asset class"),
        ({"scope_value": "rates-br"}, "scope_value", "A portfolio-wide limit has no scope"),
        (
            {"metric": "DV01", "scope": "STRATEGY", "scope_value": "rates-br"},
            "metric",
            "measured for the whole fund only",
        ),
        ({"warning_level": "0.05", "hard_level": "0.04"}, None, "limit_levels_ordered"),
    ],
)
def test_a_limit_the_engine_cannot_measure_is_refused(
    admin_client, book_at, changes, field, message
) -> None:
    book = book_at(date(2025, 1, 2))
    limit = Limit(portfolio=book.portfolio, metric="VAR_99", warning_level=1, hard_level=2)
    response = admin_client.post(reverse("admin:risk_limit_add"), _limit_data(limit, **changes))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in json.dumps(errors if field is None else errors[field])
    assert not Limit.objects.exists()


def test_default_limits_are_added_from_the_changelist(admin_client) -> None:
    portfolio = PortfolioFactory.create()
    url = reverse("admin:risk_limit_defaults")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"portfolio": portfolio.pk}, follow=True)
    assert f"{portfolio}: {len(DEFAULT_LIMITS)} default limits added." in response.content.decode()
    assert Limit.objects.filter(portfolio=portfolio).count() == len(DEFAULT_LIMITS)
    again = admin_client.post(url, {"portfolio": portfolio.pk}, follow=True)
    assert "already has every default limit" in again.content.decode()
    assert Limit.objects.filter(portfolio=portfolio).count() == len(DEFAULT_LIMITS)


def test_limits_cannot_be_deleted(admin_client, risk_book: RiskBook) -> None:
    limit = Limit.objects.first()
    assert limit is not None
    response = admin_client.get(reverse("admin:risk_limit_delete", args=[limit.pk]))
    assert response.status_code == 403


# --- stress scenarios ------------------------------------------------------------------------


def _scenario_data(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "bear-steepener",
        "name": "Bear steepener",
        "kind": "USER",
        "description": "",
        "source_start": "",
        "source_end": "",
        "shocks": '{"di_bp": {"21": 0, "1260": 150}}',
        "active": "on",
    }
    return {**data, **changes}


def test_scenario_pages_load_and_list_the_shock_keys(admin_client) -> None:
    scenario = StressScenario.objects.get(code="election-2002")
    assert admin_client.get(reverse("admin:risk_stressscenario_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:risk_stressscenario_change", args=[scenario.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<code>usdbrl_pct</code>: USD/BRL move (%)" in html
    assert "&quot;di_bp&quot;: {\n" in html  # the stored JSON, indented for editing


@pytest.mark.parametrize(
    ("shocks", "message"),
    [
        ('{"di_bp": 100}', "di_bp must map business days to bp"),
        ('{"usd_pct": 10}', "Unknown shock keys [&#x27;usd_pct&#x27;]"),
        ('{"di_bp": {"1y": 100}}', "is not &#x27;du&#x27;: number"),
        ("{not json", "Enter a valid JSON."),
        ("{}", "This field is required."),
        ("[1, 2]", "Shocks must be a non-empty JSON object."),
    ],
)
def test_invalid_shocks_are_shown_and_nothing_is_saved(admin_client, shocks, message) -> None:
    before = StressScenario.objects.count()
    response = admin_client.post(
        reverse("admin:risk_stressscenario_add"), _scenario_data(shocks=shocks)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert StressScenario.objects.count() == before


def test_an_edited_historical_scenario_is_saved(admin_client) -> None:
    scenario = StressScenario.objects.get(code="joesley-2017")
    url = reverse("admin:risk_stressscenario_change", args=[scenario.pk])
    data = _scenario_data(
        code=scenario.code,
        name=scenario.name,
        kind="HISTORICAL",
        source_start="2017-05-18",
        source_end="2017-05-18",
        shocks='{"di_bp": {"252": 120}, "usdbrl_pct": 8.1}',
    )
    assert admin_client.post(url, data).status_code == 302
    scenario.refresh_from_db()
    assert scenario.shocks == {"di_bp": {"252": 120}, "usdbrl_pct": 8.1}
    reversed_window = {**data, "source_end": "2017-05-01"}
    response = admin_client.post(url, reversed_window)
    assert "The episode cannot end before it starts." in response.content.decode()


# --- alerts and snapshots --------------------------------------------------------------------


def test_alerts_and_snapshots_are_read_only(admin_client, risk_book: RiskBook) -> None:
    alert = Alert.objects.first()
    assert alert is not None
    assert admin_client.get(reverse("admin:risk_alert_changelist")).status_code == 200
    change = admin_client.get(reverse("admin:risk_alert_change", args=[alert.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    snapshots = admin_client.get(reverse("admin:risk_risksnapshot_changelist"))
    assert snapshots.status_code == 200
    detail = admin_client.get(
        reverse("admin:risk_risksnapshot_change", args=[risk_book.snapshot.pk])
    )
    assert detail.status_code == 200 and "dv01_ladder" in detail.content.decode()
    assert admin_client.get(reverse("admin:risk_alert_add")).status_code == 403


def _action(admin_client: Any, alerts: list[Alert], **extra: str) -> Any:
    data = {
        "action": "acknowledge_selected",
        helpers.ACTION_CHECKBOX_NAME: [a.pk for a in alerts],
        **extra,
    }
    return admin_client.post(reverse("admin:risk_alert_changelist"), data, follow=True)


def test_the_acknowledge_action_asks_for_a_note(admin_client, risk_book: RiskBook) -> None:
    alerts = list(Alert.objects.open())
    asked = _action(admin_client, alerts)
    assert "The note says what is being done" in asked.content.decode()
    refused = _action(admin_client, alerts, post="yes", note=" ")
    assert "acknowledging needs a note" in refused.content.decode()
    assert Alert.objects.open().count() == len(alerts)
    done = _action(admin_client, alerts, post="yes", note="Risk committee: reduce by Friday.")
    assert "Acknowledged: " in done.content.decode()
    assert not Alert.objects.open().exists()
    entries = Entry.objects.filter(kind=EntryKind.ALERT_ACKNOWLEDGED)
    assert entries.count() == len(alerts)
    assert {e.note for e in entries} == {"Risk committee: reduce by Friday."}


def test_back_office_staff_are_refused_by_the_service(
    client, risk_book: RiskBook, bo_carol
) -> None:
    from django.contrib.auth.models import Permission

    bo_carol.user_permissions.add(Permission.objects.get(codename="view_alert"))
    client.force_login(bo_carol)
    alert = Alert.objects.open().first()
    assert alert is not None
    response = _action(client, [alert], post="yes", note="I am back office.")
    assert "Only a manager, an approver or ops may acknowledge" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_strategy_scoped_limit_is_accepted(admin_client, book_at) -> None:
    book = book_at(date(2025, 1, 2))
    StrategyFactory.create(portfolio=book.portfolio, code="fx")
    limit = Limit(portfolio=book.portfolio, metric="GROSS", warning_level=1, hard_level=2)
    data = _limit_data(limit, scope="STRATEGY", scope_value="fx")
    assert admin_client.post(reverse("admin:risk_limit_add"), data).status_code == 302
    assert Limit.objects.get().scope_value == "fx"
