"""PMS metrics for Prometheus, computed at scrape time next to django-prometheus's own."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class PmsCollector(Collector):
    def describe(self) -> list[GaugeMetricFamily]:
        """Nothing up front: registering must not query the database (it may not exist yet)."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        from apps.core.cache import stats
        from apps.ops.models import PipelineRun
        from apps.risk.models import Alert, RiskSnapshot

        last = GaugeMetricFamily(
            "pms_pipeline_last_success_timestamp_seconds",
            "When each pipeline last succeeded, per portfolio (Unix time).",
            labels=["pipeline", "portfolio"],
        )
        runs = (
            PipelineRun.objects.filter(status=PipelineRun.Status.SUCCESS)
            .order_by("pipeline", "portfolio__code", "-finished_at")
            .values_list("pipeline", "portfolio__code", "finished_at")
        )
        seen: set[tuple[str, str]] = set()
        for pipeline, code, finished in runs:
            if (pipeline, code) in seen or finished is None:
                continue
            seen.add((pipeline, code))
            last.add_metric([pipeline, code], finished.timestamp())
        yield last

        requests = CounterMetricFamily(
            "pms_cache_requests", "Read-model cache lookups in this process.", labels=["result"]
        )
        for result, count in stats.items():
            requests.add_metric([result], count)
        yield requests
        looked_up = stats["hit"] + stats["miss"]
        yield GaugeMetricFamily(
            "pms_cache_hit_ratio",
            "Hits over hits + misses of the read-model cache in this process.",
            value=stats["hit"] / looked_up if looked_up else 0.0,
        )

        utilisation = GaugeMetricFamily(
            "pms_limit_utilisation_ratio",
            "Latest risk snapshot: each limit's value over its hard level.",
            labels=["portfolio", "limit"],
        )
        latest: dict[str, RiskSnapshot] = {}
        for snapshot in RiskSnapshot.objects.select_related("portfolio").order_by("-date")[:50]:
            latest.setdefault(snapshot.portfolio.code, snapshot)
        for code, snapshot in latest.items():
            for check in snapshot.report.get("limits", []):
                utilisation.add_metric([code, check["label"]], check["utilisation"])
        yield utilisation
        yield GaugeMetricFamily(
            "pms_open_alerts",
            "Limit alerts not yet acknowledged.",
            value=Alert.objects.open().count(),
        )
