"""The navigation bar: only pages that exist, and only those the user's roles may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse

from apps.ops.roles import Role, has_role

ALL_ROLES = tuple(Role.values)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[str, ...] = ALL_ROLES


# Later apps append their pages here; an item whose URL does not resolve is not shown.
NAV_ITEMS: list[NavItem] = [
    NavItem("Morning pack", "briefings:latest"),
    NavItem("Book", "positions:book"),
    NavItem("Risk", "risk:monitor"),
    NavItem("Attribution", "attribution:page"),
    NavItem("Market", "marketdata:overview"),
    NavItem("Blotter", "proposals:blotter"),
    NavItem("Journal", "journal:list"),
    NavItem("Pipelines", "ops:pipelines", roles=(Role.OPS, Role.MANAGER)),
]


def items_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    """The navigation entries this user may see, with the active one flagged."""
    entries = []
    for item in NAV_ITEMS:
        if not has_role(user, *item.roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        entries.append({"label": item.label, "url": url, "active": current_path.startswith(url)})
    return entries
