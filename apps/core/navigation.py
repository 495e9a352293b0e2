"""The navigation bar: only pages that exist, and only those the user's roles may open."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.urls import NoReverseMatch, get_script_prefix, reverse

from apps.core.roles import Role, has_role

ALL_ROLES = tuple(Role.values)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[str, ...] = ALL_ROLES


# Later apps append their pages here; an item whose URL does not resolve is not shown.
NAV_ITEMS: list[NavItem] = [
    NavItem("Morning pack", "briefings:latest"),
    NavItem("Firm", "firm:page"),
    NavItem("Book", "positions:book"),
    NavItem("Risk", "risk:monitor"),
    NavItem("Attribution", "attribution:page"),
    NavItem("Compliance", "compliance:page"),
    NavItem("Market", "marketdata:overview"),
    NavItem("Blotter", "proposals:blotter"),
    NavItem("Sandbox", "trading:sandbox", roles=(Role.MANAGER, Role.APPROVER, Role.BACK_OFFICE)),
    NavItem("Journal", "journal:list"),
    NavItem("Pipelines", "ops:pipelines", roles=(Role.OPS, Role.MANAGER)),
]


def items_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    """The navigation entries this user may see, with the active one flagged."""
    entries = []
    for item in NAV_ITEMS:
        if not has_role(user, *item.roles):
            continue
        url = _url(item.url_name, get_script_prefix())
        if url is None:
            continue
        entries.append({"label": item.label, "url": url, "active": current_path.startswith(url)})
    # One active entry: the longest URL the path starts with (/book/sandbox/ is the sandbox's,
    # not the book's).
    matching: list[str] = [str(e["url"]) for e in entries if e["active"]]
    longest = max(matching, key=len, default=None)
    for entry in entries:
        entry["active"] = entry["url"] == longest
    return entries


@lru_cache(maxsize=64)
def _url(name: str, script_prefix: str) -> str | None:
    """reverse() once per name and prefix: the bar is drawn on every page."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None
