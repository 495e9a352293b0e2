"""The authentication backend: Django's ModelBackend that loads the user's roles with the user.

Every request loads the session's user once; navigation, the failure banner and every
permission check then ask for the user's roles. Loading the role names in the same query (a
correlated, aggregated subquery) saves a query on every page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Aggregate, CharField, OuterRef, Subquery

SEPARATOR = "|"  # role names are identifiers (apps.ops.roles.Role); other groups don't matter


class _GroupNames(Aggregate):
    """The group names joined by SEPARATOR: STRING_AGG on PostgreSQL, GROUP_CONCAT on SQLite."""

    function = "STRING_AGG"
    template = f"%(function)s(%(expressions)s, '{SEPARATOR}')"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


class RoleLoadingBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        memberships: Any = model.groups.through.objects.filter(user_id=OuterRef("pk"))
        names = memberships.order_by().values("user_id").annotate(names=_GroupNames("group__name"))
        users = model._default_manager.annotate(role_names=Subquery(names.values("names")))
        try:
            user: Any = users.get(pk=user_id)
        except model.DoesNotExist:
            return None
        user._pms_roles = frozenset(filter(None, (user.role_names or "").split(SEPARATOR)))
        return user if self.user_can_authenticate(user) else None
