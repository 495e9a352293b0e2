from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from tests.support import DEMO_PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_migration_creates_the_five_role_groups() -> None:
    names = set(Group.objects.values_list("name", flat=True))
    assert {"manager", "approver", "back_office", "ops", "viewer"} <= names


def test_back_office_group_may_add_instruments() -> None:
    group = Group.objects.get(name="back_office")
    assert group.permissions.filter(codename="add_instrument").exists()
    assert not Group.objects.get(name="viewer").permissions.exists()


@pytest.mark.parametrize("url", ["/", "/market/", "/api/instruments/"])
def test_every_page_requires_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (302, 401, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


def test_login_page_and_health_are_public(client: Client) -> None:
    assert client.get("/login/").status_code == 200
    assert client.get("/health").json() == {"status": "ok"}


def test_manager_logs_in_and_lands_on_a_page(client: Client, pm_alice) -> None:
    response = client.post(
        "/login/", {"username": "pm_alice", "password": DEMO_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.context["user"] == pm_alice
    assert b"Market" in response.content


def test_wrong_password_is_refused_with_a_message(client: Client, pm_alice) -> None:
    response = client.post("/login/", {"username": "pm_alice", "password": "nope"})
    assert response.status_code == 200
    assert (
        "didn&#x27;t match" in response.content.decode()
        or "didn't match" in response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_navigation_hides_the_back_office_from_non_staff(client: Client, pm_alice) -> None:
    client.force_login(pm_alice)
    body = client.get("/market/").content.decode()
    assert "Back office" not in body


def test_user_without_role_gets_a_clear_page(client: Client, django_user_model) -> None:
    nobody = django_user_model.objects.create_user("nobody", password=DEMO_PASSWORD)
    client.force_login(nobody)
    response = client.get("/")
    assert response.status_code == 403
    assert b"no PMS role" in response.content


def test_logout_ends_the_session(client: Client, pm_alice) -> None:
    client.force_login(pm_alice)
    client.post("/logout/")
    assert client.get("/market/").status_code == 302


# --- Django's ModelBackend loads the user; the roles are one more query -------------------------


def test_the_session_user_and_their_roles_cost_two_queries(django_assert_num_queries: Any) -> None:
    from django.contrib.auth.backends import ModelBackend

    from apps.core.roles import Role, has_role, role_names

    user = make_user("two_hats", "manager", "approver")
    with django_assert_num_queries(2):
        loaded = ModelBackend().get_user(user.pk)
        assert has_role(loaded, Role.APPROVER) and not has_role(loaded, Role.OPS)
    assert role_names(loaded) == {"manager", "approver"}


def test_a_user_without_groups_has_no_role_and_an_inactive_one_no_session() -> None:
    from django.contrib.auth.backends import ModelBackend

    from apps.core.roles import role_names

    assert ModelBackend().get_user(0) is None
    plain = ModelBackend().get_user(make_user("plain").pk)
    assert plain is not None and role_names(plain) == frozenset()
    gone = make_user("gone", "manager", is_active=False)
    assert ModelBackend().get_user(gone.pk) is None


def test_a_logged_in_page_sees_a_role_change_on_the_next_request(client: Any) -> None:
    user = make_user("promoted", "viewer")
    client.force_login(user)
    assert client.get("/ops/pipelines/").status_code == 403
    user.groups.add(Group.objects.get(name="ops"))
    assert client.get("/ops/pipelines/").status_code == 200


# --- where each role lands, the favicon (issue 14 §7.3) -----------------------------------------


def test_the_back_office_logs_in_and_lands_on_the_admin(client: Client, bo_carol: Any) -> None:
    response = client.post("/login/", {"username": "bo_carol", "password": DEMO_PASSWORD})
    assert response["Location"] == reverse("home")
    assert client.get(response["Location"])["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_back_office_user_who_also_manages_lands_on_the_pages(client: Client) -> None:
    make_user("two_hats", "manager", "back_office", staff=True)
    client.post("/login/", {"username": "two_hats", "password": DEMO_PASSWORD})
    assert client.get("/")["Location"] != reverse("admin:index")


def test_ops_still_lands_on_the_pages(client: Client, ops_erin: Any) -> None:
    client.force_login(ops_erin)
    assert client.get("/")["Location"] != reverse("admin:index")


def test_every_page_links_the_favicon_and_it_is_served(client: Client, pm_alice: Any) -> None:
    login_page = client.get("/login/").content.decode()
    assert 'rel="icon"' in login_page and "favicon" in login_page
    client.force_login(pm_alice)
    assert 'rel="icon"' in client.get("/market/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/")
