from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.core.navigation import items_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation bar (the failed-pipeline banner is ops's: `apps.ops.context_processors`)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": items_for(user, request.path), "is_staff": user.is_staff}
