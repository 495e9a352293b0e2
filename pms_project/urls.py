"""Root URL configuration."""

from collections.abc import Callable

from csp.decorators import csp_exempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http.response import HttpResponseBase
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.ops import views as ops_views


def _login_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A DRF view that is a page for people: DRF exempts its views from Django's
    LoginRequiredMiddleware (they answer 401/403 themselves); this one redirects to login."""
    view.login_required = True  # type: ignore[attr-defined]
    return view


handler500 = "apps.core.errors.server_error"  # 503 when the database is unavailable

admin.site.site_header = "PMS back office"
admin.site.site_title = "PMS back office"
admin.site.index_title = "Instruments, market data and users"

urlpatterns = [
    path("", ops_views.home, name="home"),
    path(
        "login/",
        login_not_required(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health", ops_views.health, name="health"),
    path("ready", ops_views.ready, name="ready"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("book/", include("apps.positions.urls")),
    path("book/", include("apps.trading.urls")),  # trade entry and reversal
    path("market/", include("apps.marketdata.urls")),
    path("blotter/", include("apps.proposals.urls")),
    path("journal/", include("apps.proposals.journal_urls")),
    path("risk/", include("apps.risk.urls")),
    path("firm/", include("apps.firm.urls")),
    path("compliance/", include("apps.compliance.urls")),
    path("attribution/", include("apps.attribution.urls")),
    path("morning/", include("apps.briefings.urls")),
    path("ops/", include("apps.ops.urls")),
    path("api/", include("pms_project.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI renders with inline scripts of its own: the only page outside the CSP.
    path(
        "api/docs/",
        _login_page(csp_exempt()(SpectacularSwaggerView.as_view(url_name="schema"))),
        name="api-docs",
    ),
    path(settings.ADMIN_URL, admin.site.urls),
]
