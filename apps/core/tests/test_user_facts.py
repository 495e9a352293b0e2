"""A user's role names travel in the session under the user's data version: a request after
the first reads no groups, and a change of the user's groups (from either side of the
relation, in the admin or in code) is seen on the very next request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.core.roles import Role
from tests.support import make_user

pytestmark = pytest.mark.django_db

PIPELINES = "/ops/pipelines/"  # ops and managers only


def fact_queries(client: Client, path: str) -> tuple[int, int, int]:
    """The page's status, how many of its queries read the user's groups for their roles, and
    how many read their fund grants (which look at their groups too: grants to a group)."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    sqls = [q["sql"] for q in queries.captured_queries]
    funds = sum("positions_fundaccess" in sql for sql in sqls)
    roles = sum("auth_user_groups" in sql and "positions_fundaccess" not in sql for sql in sqls)
    return status, roles, funds


def groups_queries(client: Client, path: str) -> tuple[int, int]:
    """The page's status and how many of its queries read the user's groups (their roles)."""
    status, roles, _ = fact_queries(client, path)
    return status, roles


def test_the_login_keeps_the_roles_and_no_request_reads_them_again() -> None:
    client = Client()
    client.force_login(make_user("olga", Role.OPS))
    assert groups_queries(client, PIPELINES) == (200, 0)
    assert groups_queries(client, "/market/") == (200, 0)


def test_a_session_without_them_reads_them_once_and_keeps_them() -> None:
    client = Client()
    client.force_login(make_user("olga", Role.OPS))
    session = client.session
    del session["_pms_facts"]
    session.save()
    assert fact_queries(client, PIPELINES) == (200, 1, 1)  # read, then kept
    assert fact_queries(client, PIPELINES) == (200, 0, 0)


def test_a_role_taken_away_is_seen_on_the_next_request() -> None:
    user = make_user("olga", Role.OPS)
    client = Client()
    client.force_login(user)
    assert groups_queries(client, PIPELINES) == (200, 0)
    user.groups.remove(Group.objects.get(name=Role.OPS))
    assert groups_queries(client, PIPELINES) == (403, 1)


def test_a_role_granted_from_the_group_side_is_seen_on_the_next_request() -> None:
    user = make_user("vera", Role.VIEWER)
    client = Client()
    client.force_login(user)
    assert groups_queries(client, PIPELINES) == (403, 0)
    Group.objects.get(name=Role.OPS).user_set.add(user)
    assert groups_queries(client, PIPELINES) == (200, 1)


def test_emptying_a_group_stales_every_member() -> None:
    user = make_user("olga", Role.OPS)
    client = Client()
    client.force_login(user)
    assert groups_queries(client, PIPELINES)[0] == 200
    Group.objects.get(name=Role.OPS).user_set.clear()
    assert groups_queries(client, PIPELINES) == (403, 1)


def test_a_session_from_before_the_change_never_grants_a_role_it_lost() -> None:
    """Two browsers of one user: the change reaches both."""
    user = make_user("olga", Role.OPS)
    first, second = Client(), Client()
    first.force_login(user)
    second.force_login(user)
    assert groups_queries(first, PIPELINES)[0] == groups_queries(second, PIPELINES)[0] == 200
    user.groups.clear()
    assert groups_queries(first, PIPELINES)[0] == groups_queries(second, PIPELINES)[0] == 403
