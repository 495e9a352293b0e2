"""factory_boy factories for the book."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from apps.positions.models import Portfolio, Strategy


class PortfolioFactory(factory.django.DjangoModelFactory[Portfolio]):
    class Meta:
        model = Portfolio
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"fund-{n}")
    name = factory.LazyAttribute(lambda o: f"Macro fund {o.code}")
    inception_date = datetime.date(2025, 1, 2)
    initial_nav = Decimal("100000000.00")


class StrategyFactory(factory.django.DjangoModelFactory[Strategy]):
    class Meta:
        model = Strategy
        django_get_or_create = ("portfolio", "code")

    portfolio = factory.SubFactory(PortfolioFactory)
    code = factory.Sequence(lambda n: f"book-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
