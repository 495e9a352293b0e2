"""The narrative: grounded LLM text accepted, anything else falls back to the template."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from apps.briefings.grounding import ungrounded
from apps.briefings.narrative import template_narrative, write_narrative
from apps.briefings.tests.support import FakeAnthropic

FACTS = {
    "version": "1",
    "business_date": "2025-02-04",
    "market": {
        "di1_curve": [{"vertex": "1y", "du": 252, "rate_pct": 14.92, "change_bp": -1.5}],
        "usdbrl": {"ptax": 5.8348, "change_pct": -0.42},
        "ibovespa": {"ticker": "INDG25", "level": 126227.0, "change_pct": -0.35},
        "cdi_pct": 13.15,
        "selic_target_pct": 13.25,
        "ipca": {"month": "2024-12", "monthly_pct": 0.52, "twelve_months_pct": 4.83},
    },
    "book": {
        "nav": 512345678.0,
        "day_pnl": -1234567.0,
        "day_pnl_bps": -24.1,
        "mtd_pnl": 2345678.0,
        "mtd_pnl_bps": 45.8,
        "ytd_pnl": 9876543.0,
        "ytd_pnl_bps": 195.2,
        "open_positions": 25,
        "top": [{"ticker": "DI1F27", "strategy": "Rates BR", "pnl": 456789.0}],
        "bottom": [{"ticker": "WDOH25", "strategy": "FX", "pnl": -987654.0}],
    },
    "risk": {
        "measures": {"var_confidence_pct": 99, "es_confidence_pct": 97.5, "horizon_days": 1},
        "snapshot": "2025-02-03",
        "var99": 3123456.0,
        "var99_pct_nav": 0.61,
        "es975": 3456789.0,
        "open_alerts": 1,
        "worst_stress": {"name": "2008 crisis", "pnl": -25000000.0, "pct_nav": -4.88},
        "max_utilisation": {"label": "VaR 99", "pct": 87.0},
    },
    "proposals": [
        {"id": 12, "instrument": "DI1F27", "side": "BUY", "quantity": 300.0, "hard_breaches": []}
    ],
    "expiries": [],
    "calendar": [{"date": "2025-02-05", "kind": "COPOM", "title": "Copom decision"}],
    "data_quality": [],
}

GROUNDED_PT = (
    "Mercado: DI1 1 ano em 14,92 % (−1,5 bp); dólar PTAX 5,8348 (−0,42 %); Ibovespa futuro "
    "126.227 (−0,35 %); CDI 13,15 %.\nCarteira: PL de R$ 512.345.678; o dia custou R$ 1.234.567 "
    "(−24,1 bp), no ano +R$ 9,88 mi. DI1F27 rendeu R$ 456.789.\nRisco: VaR 99 % de R$ 3,12 mi "
    "(0,61 % do PL); pior estresse 2008 com R$ −25 mi. Copom em 05/02/2025. 1 proposta (#12, "
    "300 contratos)."
)


def test_a_grounded_narrative_is_accepted() -> None:
    assert ungrounded(GROUNDED_PT, FACTS, "pt-BR") == []
    fake = FakeAnthropic(text=GROUNDED_PT)
    result = write_narrative(FACTS, language="pt-BR", client=fake)
    assert (result.source, result.text, result.rejection_reason) == ("llm", GROUNDED_PT, "")
    assert len(fake.calls) == 1
    call = fake.calls[0]
    assert call["messages"][0]["content"].startswith('{"book"')  # the facts and nothing else
    assert "250" in call["system"]


def test_one_wrong_number_rejects_the_text_and_says_which() -> None:
    wrong = GROUNDED_PT.replace("14,92 %", "14,97 %")
    result = write_narrative(FACTS, language="pt-BR", client=FakeAnthropic(text=wrong))
    assert result.source == "template"
    assert "1 number(s) not in the facts (14,97 %)" in result.rejection_reason
    assert result.text == template_narrative(FACTS, "pt-BR")


def test_a_wrong_sign_is_a_wrong_number() -> None:
    assert ungrounded("O dia rendeu +R$ 1.234.567.", FACTS, "pt-BR") == ["+R$ 1.234.567"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.TimeoutException("read timed out"), "TimeoutException"),
        (RuntimeError("529 overloaded"), "529 overloaded"),
    ],
)
def test_errors_fall_back_to_the_template(error, expected) -> None:
    result = write_narrative(FACTS, language="en", client=FakeAnthropic(error=error))
    assert result.source == "template"
    assert expected in result.rejection_reason


def test_sdk_timeout_falls_back() -> None:
    import anthropic

    request = httpx.Request("POST", "https://api.anthropic.invalid/v1/messages")
    result = write_narrative(
        FACTS, language="en", client=FakeAnthropic(error=anthropic.APITimeoutError(request))
    )
    assert result.source == "template" and "APITimeoutError" in result.rejection_reason


def test_without_a_key_the_template_is_used_and_no_client_built(settings) -> None:
    settings.ANTHROPIC_API_KEY = ""
    result = write_narrative(FACTS, language="en")
    assert result.source == "template"
    assert result.rejection_reason == "No ANTHROPIC_API_KEY: template used."


@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_the_template_is_itself_grounded(language) -> None:
    text = template_narrative(FACTS, language)
    assert ungrounded(text, FACTS, language) == []
    assert "DI1F27" in text and "#12" in text
