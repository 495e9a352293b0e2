"""One DRF router for every app's API."""

from rest_framework.routers import DefaultRouter

from apps.marketdata import api as marketdata_api
from apps.positions import api as positions_api

router = DefaultRouter()
marketdata_api.register(router)
positions_api.register(router)

urlpatterns = router.urls
