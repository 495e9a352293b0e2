"""The ground floor's Prometheus instruments: cache lookups, Redis errors, circuit breakers.

Counted in the process that does the work. Under gunicorn every worker keeps its values in a
file of PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, set up by
gunicorn.conf.py) and /metrics sums the files, so a scrape reports the whole server, not the
one worker that answered it (apps.ops.metrics).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CACHE_REQUESTS = Counter(
    "pms_cache_requests",
    "Lookups of the read-model cache. cache=page: a read-model page's rendered body; "
    "cache=data: the read model itself (a page whose body missed, the API, warming). "
    "result=hit: served from the cache; miss: built from the database; bypass: not cacheable "
    "(history, inside a transaction, no fund).",
    ["cache", "model", "result"],
)
CACHE_ERRORS = Counter(
    "pms_cache_errors",
    "Redis calls that failed (refused, timed out) and were answered by their fallback.",
)
BREAKER_OPEN = Gauge(
    "pms_circuit_breaker_open",
    "1 while the circuit breaker is open (calls skip the service), per live process.",
    ["breaker"],
    multiprocess_mode="livemax",
)
BREAKER_OPENINGS = Counter(
    "pms_circuit_breaker_openings",
    "Times a circuit breaker opened after failures in a row.",
    ["breaker"],
)


def count_lookup(cache: str, model: str, result: str) -> None:
    """One cache lookup: `cache` page or data, `model` book/risk/attribution/morning."""
    CACHE_REQUESTS.labels(cache, model, result).inc()
