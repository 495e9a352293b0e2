"""Who may open what: the one view decorator and the one DRF permission class, both by role.

Views: `@role_required(*roles)` (403 otherwise). APIs: `RolePermission` lets every role read
and `write_roles` write; an app names its writers in a two-line subclass. The services check
again (a permission here only turns away who can never succeed).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework import permissions

from apps.core.roles import Role, has_role

View = Callable[..., HttpResponse]
ALL_ROLES: tuple[str, ...] = tuple(Role.values)


def role_required(*roles: str) -> Callable[[View], View]:
    """403 unless the user holds one of `roles` (every role may read)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not open this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


class RolePermission(permissions.BasePermission):
    """Any role reads; only `write_roles` write (the services check again)."""

    write_roles: tuple[str, ...] = ()

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return has_role(request.user, *ALL_ROLES)
        return has_role(request.user, *self.write_roles)


class AnyRole(RolePermission):
    """Every role reads and may try to write; the service decides who may (403 otherwise)."""

    write_roles = ALL_ROLES


# Who may be the second pair of eyes: decide a proposal, release a hard-limit breach.
DECIDERS: tuple[str, ...] = (Role.MANAGER, Role.APPROVER)


def same_person(user: Any, *, maker_id: int | None, four_eyes: bool = True) -> bool:
    """Under four eyes, `user` is the one who made it (proposed, took up, booked): someone
    else must take the next step."""
    return four_eyes and maker_id is not None and maker_id == getattr(user, "pk", None)


def second_pair_of_eyes(user: Any, *, maker_id: int | None, four_eyes: bool = True) -> bool:
    """`user` may decide what `maker_id` made: a manager or an approver and, under four eyes,
    someone else. The one rule for proposals' decisions and for limit overrides (executions
    use `same_person`); the services re-check it under their row locks."""
    return has_role(user, *DECIDERS) and not same_person(
        user, maker_id=maker_id, four_eyes=four_eyes
    )
