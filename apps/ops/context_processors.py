from typing import Any

from django.http import HttpRequest

from apps.ops.navigation import items_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": items_for(user, request.path), "is_staff": user.is_staff}
