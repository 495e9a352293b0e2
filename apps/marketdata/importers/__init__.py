"""Market-data importers: CSV settlement prices, B3's BVBG.187 report, BCB SGS fixings.

Every importer validates the whole input first, writes nothing when anything is wrong
(`ImportFailed.errors` lists every problem), and is idempotent: identical rows are skipped and a
row that differs from the stored one is an error, never a silent overwrite.
"""

from apps.marketdata.importers.b3_report import import_b3_report
from apps.marketdata.importers.bcb_sgs import SGSClient, fetch_fixings
from apps.marketdata.importers.common import ImportFailed, ImportResult
from apps.marketdata.importers.csv_prices import import_price_csv

__all__ = [
    "ImportFailed",
    "ImportResult",
    "SGSClient",
    "fetch_fixings",
    "import_b3_report",
    "import_price_csv",
]
