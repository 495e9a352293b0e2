import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from conftest import DEMO_PASSWORD

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
