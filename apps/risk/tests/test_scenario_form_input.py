"""The stress scenario form refuses the JSON the API's parser refuses: no 500 from the admin."""

from __future__ import annotations

import pytest

from apps.risk.forms import StressScenarioForm

pytestmark = pytest.mark.django_db


def _errors(shocks: str) -> list[str]:
    form = StressScenarioForm({"code": "x", "name": "x", "kind": "USER", "shocks": shocks})
    assert not form.is_valid()
    return [str(message) for message in form.errors["shocks"]]


def test_a_nul_in_the_shocks_is_a_form_error() -> None:
    assert "NUL" in " ".join(_errors('{"usdbrl_pct": "\\u0000"}'))


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_shocks_are_a_form_error(depth: int) -> None:
    assert "nested" in " ".join(_errors("[" * depth + "]" * depth))
