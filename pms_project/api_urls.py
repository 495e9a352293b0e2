"""One DRF router for every app's API."""

from rest_framework.routers import DefaultRouter

from apps.attribution import api as attribution_api
from apps.briefings import api as briefings_api
from apps.compliance import api as compliance_api
from apps.firm import api as firm_api
from apps.marketdata import api as marketdata_api
from apps.positions import api as positions_api
from apps.proposals import api as proposals_api
from apps.proposals import journal_api
from apps.risk import api as risk_api
from apps.tokens import api as tokens_api
from apps.trading import api as trading_api

router = DefaultRouter()
marketdata_api.register(router)
positions_api.register(router)
trading_api.register(router)
proposals_api.register(router)
journal_api.register(router)
risk_api.register(router)
attribution_api.register(router)
firm_api.register(router)
compliance_api.register(router)
briefings_api.register(router)
tokens_api.register(router)

urlpatterns = router.urls
