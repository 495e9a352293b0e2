"""deploy/monitoring, checked without Docker: the alert rules (promtool checks their syntax and
runs their unit tests in `make monitoring-check`), their runbook sections, the Grafana
dashboard, the compose profile, and that every metric the rules and the dashboard name is one
the app really exports (collected from a scrape after exercising every part of it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.test import Client

from apps.core.breaker import guarded
from apps.core.cache import breaker
from apps.ops.monitoring import record_check
from apps.ops.tasks import verify_journal
from apps.ops.tests.support import get, samples, scrape
from scripts.redis_server import RedisServer
from tests.support import Book

BASE = Path(settings.BASE_DIR)
MONITORING = BASE / "deploy/monitoring"
RUNBOOK = BASE / "docs/OPERATIONAL_RUNBOOK.md"
# Series Prometheus makes itself, not the app.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _rules() -> list[dict[str, Any]]:
    groups = _yaml(MONITORING / "prometheus/alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in _rules() if "alert" in rule}


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MONITORING / "grafana/dashboards/pms.json").read_text())
    return data


# --- PromQL: the metric names an expression reads ------------------------------------------------

_NOT_METRICS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL (or Grafana) expression selects: not functions, aggregations,
    keywords, label names, durations, Grafana variables or numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\$\{[^}]*\}|\$\w+", "", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(_GROUPING, "", text)
    text = re.sub(r"\boffset\s+\w+", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)\s*(\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name.lower() not in _NOT_METRICS:
            names.add(name)
    return names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'max by (portfolio) (pms_pipeline_overdue{pipeline="eod"}) == 1',
            {"pms_pipeline_overdue"},
        ),
        (
            'sum(rate(x_total{a=~"5..", b="by (c)"}[5m])) / sum(rate(x_total[$__rate_interval]))',
            {"x_total"},
        ),
        (
            "time() - max(pms_backup_last_success_timestamp_seconds) > 26 * 3600",
            {"pms_backup_last_success_timestamp_seconds"},
        ),
        ("a:b:rate5m < 0.5 and on (x) c offset 5m", {"a:b:rate5m", "c"}),
        ("histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))", {"h_bucket"}),
    ],
)
def test_metric_names_finds_the_series_an_expression_reads(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def _rule_expressions() -> list[str]:
    return [rule["expr"] for rule in _rules()]


def _dashboard_expressions() -> list[str]:
    exprs = [
        target["expr"] for panel in _dashboard()["panels"] for target in panel.get("targets", [])
    ]
    for variable in _dashboard()["templating"]["list"]:
        found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", variable["definition"])
        assert found, variable["definition"]
        exprs.append(found.group(1))
    return exprs


# --- what the app exports ------------------------------------------------------------------------


@pytest.fixture
def exported(
    alice: Client, fund: Book, settings: Any, redis_server: RedisServer, tmp_path: Path
) -> set[str]:
    """Every sample name of a scrape after every part was exercised: pages (hits and misses,
    django-prometheus's latency), the pipelines, limits and alerts (the fund), the journal's
    verification, a backup, Redis and a broker (with no worker), a failing Redis call."""
    settings.METRICS_TOKEN = ""
    get(alice, "book", fund)
    get(alice, "book", fund)
    assert verify_journal.apply().get() is True
    record_check("backup", True, str(tmp_path / "pms-20250205-220000"), 1.0)

    def refused() -> None:
        raise ConnectionRefusedError

    for _ in range(breaker.threshold):
        guarded(refused, None)  # a Redis error and the breaker's opening, counted
    breaker.success()
    settings.REDIS_URL = redis_server.url  # what pms_redis_up pings (the caches stay put)
    settings.CELERY_BROKER_URL = redis_server.url
    return {s.name for s in samples(scrape(alice))}


@pytest.mark.django_db(transaction=True)  # the page cache caches outside transactions only
def test_every_metric_the_rules_and_the_dashboard_name_is_exported(exported: set[str]) -> None:
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    named = set().union(*map(metric_names, _rule_expressions() + _dashboard_expressions()))
    missing = sorted(named - exported - recorded - PROMETHEUS_OWN)
    assert missing == [], f"named in deploy/monitoring but not exported: {missing}"
    # The families the issue asks the alerts to cover are all there.
    for name in (
        "pms_pipeline_overdue",
        "pms_pipeline_failed_runs",
        "pms_pipeline_abandoned_runs",
        "pms_pipeline_stuck_runs",
        "pms_redis_up",
        "pms_circuit_breaker_open",
        "pms_cache_requests_total",
        "pms_journal_chain_ok",
        "pms_market_data_missing",
        "pms_backup_last_success_timestamp_seconds",
        "pms_celery_workers_live",
        "pms_limit_utilisation_ratio",
        "django_http_responses_total_by_status_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",
    ):
        assert name in exported, name
        assert name in named, f"{name} is exported but neither alerted on nor shown"


# --- the rules ------------------------------------------------------------------------------------


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the level-3 headings."""
    return {
        re.sub(r"[^\w\- ]", "", line[4:].strip().lower()).replace(" ", "-")
        for line in markdown.splitlines()
        if line.startswith("### ")
    }


def test_at_least_ten_alerts_each_with_a_severity_and_its_runbook_section() -> None:
    alerts = _alerts()
    assert len(alerts) >= 10
    anchors = _anchors(RUNBOOK.read_text())
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"], name
        page, _, anchor = notes["runbook_url"].partition("#")
        assert page == "docs/OPERATIONAL_RUNBOOK.md", name
        assert anchor == name.lower() and anchor in anchors, f"no runbook section ### {name}"


def test_every_alert_section_of_the_runbook_is_an_alert() -> None:
    text = RUNBOOK.read_text()
    sections = set(re.findall(r"^### (Pms\w+)$", text, re.MULTILINE))
    assert sections == set(_alerts())


def test_the_alerts_cover_what_the_go_live_checklist_promises() -> None:
    alerts = _alerts()
    wanted = {
        "PmsEodOverdue": "pms_pipeline_overdue",  # business days, by the app: no fixed 26 h
        "PmsPipelineFailed": "pms_pipeline_failed_runs",  # per fund
        "PmsPipelineAbandoned": "pms_pipeline_abandoned_runs",
        "PmsPipelineStuck": "pms_pipeline_stuck_runs",
        "PmsRedisDown": "pms_redis_up",
        "PmsCircuitBreakerOpen": "pms_circuit_breaker_open",
        "PmsReadModelHitRatioLow": "pms:cache_hit_ratio:rate15m",
        "PmsHigh5xxRate": "pms:http_5xx_ratio:rate5m",
        "PmsHighLatencyP99": "pms:http_latency_p99:rate5m",
        "PmsJournalChainBroken": "pms_journal_chain_ok",
        "PmsSettlementPricesStale": "pms_market_data_missing",
        "PmsBackupTooOld": "pms_backup_last_success_timestamp_seconds",
        "PmsNoCeleryWorker": "pms_celery_workers_live",
    }
    for name, metric in wanted.items():
        assert metric in metric_names(alerts[name]["expr"]), name
    assert "3600" not in alerts["PmsEodOverdue"]["expr"]
    eod = next(r for r in _rules() if r.get("alert") == "PmsEodOverdue")
    assert "by (portfolio)" in eod["expr"], "one alert per fund, not one per replica"


# --- Prometheus, Alertmanager, Grafana, compose --------------------------------------------------


def test_prometheus_scrapes_the_web_service_with_the_token_and_loads_the_rules() -> None:
    config = _yaml(MONITORING / "prometheus/prometheus.yml")
    for rule_file in config["rule_files"]:
        assert (MONITORING / "prometheus" / rule_file).is_file()
    [pms] = [job for job in config["scrape_configs"] if job["job_name"] == "pms"]
    assert pms["metrics_path"] == "/metrics"
    assert pms["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert pms["dns_sd_configs"][0]["names"] == ["web"] and pms["dns_sd_configs"][0]["port"] == 8000
    [manager] = config["alerting"]["alertmanagers"]
    assert manager["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_the_dashboard_covers_pipelines_cache_latency_and_limits() -> None:
    dashboard = _dashboard()
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Pipelines per fund", "Cache", "Latency and errors", "Limit use"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    datasource = _yaml(MONITORING / "grafana/provisioning/datasources/prometheus.yml")
    [source] = datasource["datasources"]
    assert source["url"] == "http://prometheus:9090"
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
    per_fund = [p for p in panels if "$portfolio" in json.dumps(p["targets"])]
    assert len(per_fund) >= 5, "the fund picker filters the per-fund panels"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = _yaml(BASE / "docker-compose.yml")
    return data


def _host_path(volume: str) -> str:
    """The host side of a bind mount, `${VAR:-default}` read as its default."""
    source = volume.split(":")[0] if not volume.startswith("${") else volume
    found = re.match(r"\$\{\w+:-([^}]*)\}", source)
    return found.group(1) if found else source


def test_the_monitoring_profile_runs_prometheus_alertmanager_and_grafana() -> None:
    compose = _compose()
    services = compose["services"]
    monitoring = {name for name, s in services.items() if "monitoring" in s.get("profiles", [])}
    assert monitoring == {"prometheus", "alertmanager", "grafana"}
    assert all("profiles" not in s for n, s in services.items() if n not in monitoring)
    for name in monitoring:
        for volume in services[name]["volumes"]:
            host = _host_path(volume)
            if host.startswith("./"):
                assert (BASE / host).exists(), f"{name} mounts {host}, which does not exist"
        for port in services[name]["ports"]:
            assert port.startswith("127.0.0.1:"), f"{name} published beyond the host: {port}"
        for secret in services[name].get("secrets", []):
            assert secret in compose["secrets"], secret
    grafana = services["grafana"]
    mounted = {v.split(":")[1] for v in grafana["volumes"]}
    provider = _yaml(MONITORING / "grafana/provisioning/dashboards/pms.yml")["providers"][0]
    assert provider["options"]["path"] in mounted
    password = grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"]
    assert password == "/run/secrets/grafana_admin_password"
    assert f"test -s {password}" in grafana["entrypoint"][-1], "no Grafana with an empty password"
    assert "/etc/prometheus" in {v.split(":")[1] for v in services["prometheus"]["volumes"]}


def test_the_proxy_does_not_publish_the_metrics() -> None:
    caddyfile = (BASE / "deploy/Caddyfile").read_text()
    assert "@metrics path /metrics /metrics/*" in caddyfile
    assert "respond @metrics 404" in caddyfile


def test_make_test_validates_the_monitoring_config_with_debian_s_tools() -> None:
    makefile = (BASE / "Makefile").read_text()
    assert re.search(r"^test:.*\bmonitoring-check\b", makefile, re.MULTILINE)
    for command in ("promtool check config", "promtool check rules", "promtool test rules"):
        assert command in makefile, command
    assert "amtool check-config" in makefile
    packages = (BASE / "deploy/apt-ci.txt").read_text().split()
    assert {"prometheus", "prometheus-alertmanager"} <= set(packages)
