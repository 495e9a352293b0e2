"""The floor plan holds for the models too: no model points to a model of a higher floor.

import-linter checks imports; it cannot see string foreign keys ("proposals.Proposal") or
migration dependencies, so this walks every model's relations through `_meta`: ForeignKey,
OneToOneField, ManyToManyField (and their auto-created through tables), GenericForeignKey.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models

# Bottom to top; an app may point only to models of its own app or of a lower floor. Apps on
# one floor are independent of each other (risk | attribution). `tokens` (API tokens: hashed,
# expiring, revocable) imports no other app and points only to the user: the ground floor,
# beside core. `compliance` and `demo` are places kept for apps to come.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"core", "tokens"}),
    frozenset({"journal"}),
    frozenset({"marketdata"}),
    frozenset({"positions"}),
    frozenset({"risk", "attribution"}),
    frozenset({"firm"}),
    frozenset({"compliance"}),
    frozenset({"trading"}),
    frozenset({"proposals"}),
    frozenset({"briefings"}),
    frozenset({"ops"}),
    frozenset({"demo"}),
)
FOUNDATION = -1  # Django's and third-party apps: below everything


@dataclass(frozen=True)
class Relation:
    source: str  # "app_label.Model"
    field: str
    target: str | None  # None for a GenericForeignKey: it may point anywhere


def floor(app_label: str) -> int:
    """The floor of an app (FOUNDATION for anything outside `apps/`)."""
    config = apps.get_app_config(app_label)
    if not config.name.startswith("apps."):
        return FOUNDATION
    for level, labels in enumerate(FLOORS):
        if app_label in labels:
            return level
    raise LookupError(f"{config.name} is on no floor: add it to FLOORS (and docs/ARCHITECTURE.md)")


def relations(candidates: Iterable[type[models.Model]]) -> Iterator[Relation]:
    """Every forward relation of `candidates` (reverse accessors are the other side's)."""
    for model in candidates:
        source = model._meta.label
        for field in model._meta.get_fields(include_hidden=True):
            if isinstance(field, GenericForeignKey):
                yield Relation(source, field.name, None)
            elif field.is_relation and not field.auto_created and field.related_model:
                related = field.related_model
                assert not isinstance(related, str), f"{source}.{field.name}: {related} unresolved"
                yield Relation(source, field.name, related._meta.label)


def upward(found: Iterable[Relation]) -> list[str]:
    """The relations that break the floor plan, as readable lines."""
    broken = []
    for relation in found:
        source_app = relation.source.split(".")[0]
        if floor(source_app) == FOUNDATION:
            continue
        if relation.target is None:
            broken.append(f"{relation.source}.{relation.field} is a GenericForeignKey")
            continue
        target_app = relation.target.split(".")[0]
        if target_app == source_app or floor(target_app) < floor(source_app):
            continue
        broken.append(
            f"{relation.source}.{relation.field} → {relation.target} "
            f"({source_app} may not point to {target_app})"
        )
    return broken


def test_every_app_of_the_project_has_a_floor() -> None:
    for config in apps.get_app_configs():
        floor(config.label)  # raises for an app left off the plan


def test_no_model_points_to_a_model_of_a_higher_floor() -> None:
    found = list(relations(apps.get_models(include_auto_created=True)))
    assert any(r.target == "positions.Trade" for r in found)  # the walk sees string FKs
    assert upward(found) == []


@pytest.mark.parametrize(
    ("relation", "allowed"),
    [
        (Relation("journal.Entry", "proposal", "proposals.Proposal"), False),
        (Relation("positions.Trade", "proposal", "proposals.Proposal"), False),
        (Relation("risk.Alert", "snapshot", "attribution.Snapshot"), False),  # same floor
        (Relation("journal.Entry", "anything", None), False),  # a GenericForeignKey
        (Relation("proposals.Execution", "trade", "positions.Trade"), True),
        (Relation("positions.Trade", "reverses", "positions.Trade"), True),
        (Relation("journal.Entry", "actor", "auth.User"), True),
        (Relation("auth.Permission", "content_type", "contenttypes.ContentType"), True),
    ],
)
def test_the_check_catches_an_upward_relation(relation: Relation, allowed: bool) -> None:
    assert (upward([relation]) == []) is allowed
