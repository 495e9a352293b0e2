"""The per-fund access selector: grants to a user, to their groups, "all funds", superusers;
another fund's id is a 404; every change of a grant stales the user's kept facts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.http import Http404

from apps.core.models import DataVersion
from apps.core.roles import Role
from apps.positions.access import ALL, fund_ids, may_see, portfolio_or_404, visible
from apps.positions.models import FundAccess, Portfolio
from tests.support import make_user

pytestmark = pytest.mark.django_db


def fund(code: str) -> Portfolio:
    return Portfolio.objects.create(
        code=code, name=code.upper(), inception_date=date(2025, 1, 2), initial_nav=Decimal(10**8)
    )


def fresh(user: User) -> User:
    """The user as the next request loads it (facts are kept on the object for a request)."""
    return User.objects.get(pk=user.pk)


def user_version(user: User) -> int:
    row = DataVersion.objects.filter(scope=f"user:{user.pk}").first()
    return row.version if row else 0


def test_a_user_sees_the_funds_granted_to_them_and_to_their_groups() -> None:
    macro, qualified, account = fund("macro"), fund("qualified"), fund("account")
    user = make_user("ana", Role.MANAGER, funds=())
    assert fund_ids(user) == frozenset()
    FundAccess.objects.create(user=user, portfolio=macro)
    FundAccess.objects.create(group=Group.objects.get(name=Role.MANAGER), portfolio=qualified)
    user = fresh(user)
    assert fund_ids(user) == {macro.pk, qualified.pk}
    assert list(visible(user)) == [macro, qualified]
    assert may_see(user, macro.pk) and not may_see(user, account.pk)
    assert portfolio_or_404(user, code="macro") == macro
    with pytest.raises(Http404):
        portfolio_or_404(user, code="account")  # exists, not granted: same answer as missing
    with pytest.raises(Http404):
        portfolio_or_404(user, code="nope")


def test_all_funds_and_superusers_see_every_fund_present_and_future() -> None:
    fund("macro")
    user = make_user("ops", Role.OPS, funds=())
    FundAccess.objects.create(user=user, all_funds=True)
    boss = User.objects.create_superuser("boss", password="x")
    later = fund("later")
    assert fund_ids(fresh(user)) == ALL and fund_ids(boss) == ALL
    assert later in visible(fresh(user))


def test_an_inactive_or_anonymous_user_sees_nothing() -> None:
    from django.contrib.auth.models import AnonymousUser

    macro = fund("macro")
    gone = make_user("gone", Role.MANAGER, is_active=False, funds=())
    FundAccess.objects.create(user=gone, portfolio=macro)
    assert fund_ids(gone) == frozenset() and fund_ids(AnonymousUser()) == frozenset()


def test_every_change_of_a_grant_bumps_the_users_it_touches() -> None:
    macro = fund("macro")
    ana, bea = make_user("ana", Role.MANAGER, funds=()), make_user("bea", Role.MANAGER, funds=())
    before = user_version(ana), user_version(bea)
    grant = FundAccess.objects.create(user=ana, portfolio=macro)
    assert user_version(ana) > before[0] and user_version(bea) == before[1]
    group_grant = FundAccess.objects.create(
        group=Group.objects.get(name=Role.MANAGER), portfolio=macro
    )
    assert user_version(bea) > before[1]
    middle = user_version(ana), user_version(bea)
    grant.delete()
    group_grant.delete()
    assert user_version(ana) > middle[0] and user_version(bea) > middle[1]


def test_a_grant_names_one_grantee_and_one_scope() -> None:
    from django.db import IntegrityError, transaction

    macro = fund("macro")
    ana = make_user("ana", funds=())
    managers = Group.objects.get(name=Role.MANAGER)
    for bad in (
        {"user": ana, "group": managers, "portfolio": macro},
        {"portfolio": macro},
        {"user": ana},
        {"user": ana, "portfolio": macro, "all_funds": True},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            FundAccess.objects.create(**bad)
