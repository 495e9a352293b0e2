"""The narrative: an LLM's prose, accepted only when grounded, else a deterministic template.

The prompt holds the facts and nothing else. The Anthropic client is injected (tests pass a
fake; production builds one from ANTHROPIC_API_KEY with a bounded timeout and retries).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from apps.briefings.grounding import ungrounded

SYSTEM = {
    "pt-BR": (
        "Você escreve o resumo matinal de um fundo multimercado brasileiro para o gestor. "
        "Use somente os números dos fatos em JSON, exatamente como aparecem (mesmo arredondamento "
        "e unidade: R$ em reais, *_pct em %, *_bp e *_bps em pontos-base). Não calcule números "
        "novos, não invente nada. Seções curtas: Mercado, Carteira, Risco, Decisões de hoje, "
        "Agenda e vencimentos, Qualidade dos dados. No máximo 250 palavras, sem tabelas."
    ),
    "en": (
        "You write the morning briefing of a Brazilian global-macro fund for its portfolio "
        "manager. Use only the numbers in the JSON facts, exactly as given (same rounding and "
        "unit: BRL amounts in reais, *_pct in %, *_bp and *_bps in basis points). Do not compute "
        "new numbers or invent anything. Short sections: Market, Book, Risk, Today's decisions, "
        "Calendar and expiries, Data quality. At most 250 words, no tables."
    ),
}


class MessagesClient(Protocol):
    """The part of `anthropic.Anthropic` the pack uses."""

    @property
    def messages(self) -> Any: ...


@dataclass(frozen=True)
class Narrative:
    text: str
    source: str  # "llm" or "template"
    model: str
    prompt_hash: str
    rejection_reason: str
    llm_ms: int


def prompt_for(facts: dict[str, Any], language: str) -> tuple[str, str]:
    """(system, user) messages; the user message is the facts alone."""
    return SYSTEM[language], json.dumps(facts, ensure_ascii=False, sort_keys=True)


def default_client() -> MessagesClient | None:
    if not settings.ANTHROPIC_API_KEY:
        return None
    import anthropic

    return anthropic.Anthropic(
        api_key=settings.ANTHROPIC_API_KEY,
        timeout=settings.ANTHROPIC_TIMEOUT_SECONDS,
        max_retries=settings.ANTHROPIC_MAX_RETRIES,
    )


def write_narrative(
    facts: dict[str, Any], *, language: str, client: MessagesClient | None = None
) -> Narrative:
    """The LLM's grounded text, or the template with the reason the LLM text was not used."""
    system, user = prompt_for(facts, language)
    digest = hashlib.sha256((system + "\n" + user).encode()).hexdigest()
    model = settings.ANTHROPIC_MODEL
    client = client if client is not None else default_client()
    if client is None:
        return _fallback(facts, language, digest, "", "No ANTHROPIC_API_KEY: template used.", 0)
    started = time.perf_counter()
    try:
        response = client.messages.create(
            model=model,
            max_tokens=1200,
            system=system,
            messages=[{"role": "user", "content": user}],
        )
        text = "".join(getattr(block, "text", "") for block in response.content).strip()
    except Exception as error:  # any SDK, network or timeout failure → template
        elapsed = int((time.perf_counter() - started) * 1000)
        reason = f"LLM call failed ({type(error).__name__}: {error})."
        return _fallback(facts, language, digest, model, reason, elapsed)
    elapsed = int((time.perf_counter() - started) * 1000)
    if not text:
        return _fallback(facts, language, digest, model, "LLM returned no text.", elapsed)
    unsupported = ungrounded(text, facts, language)
    if unsupported:
        listed = ", ".join(unsupported[:10])
        reason = f"LLM text rejected: {len(unsupported)} number(s) not in the facts ({listed})."
        return _fallback(facts, language, digest, model, reason, elapsed)
    return Narrative(text, "llm", model, digest, "", elapsed)


def _fallback(
    facts: dict[str, Any], language: str, digest: str, model: str, reason: str, ms: int
) -> Narrative:
    return Narrative(template_narrative(facts, language), "template", model, digest, reason, ms)


# --- the template ---------------------------------------------------------------------------


def _num(value: Any, places: int, language: str, signed: bool = False) -> str:
    if value is None:
        return "n/d" if language.startswith("pt") else "n/a"
    text = f"{abs(value):,.{places}f}"
    if language.startswith("pt"):
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    sign = "−" if value < 0 else ("+" if signed and value > 0 else "")
    return sign + text


LABELS = {
    "pt-BR": {
        "market": "Mercado",
        "book": "Carteira",
        "risk": "Risco",
        "decisions": "Decisões de hoje",
        "calendar": "Agenda e vencimentos",
        "quality": "Qualidade dos dados",
        "curve": "Curva DI1",
        "usd": "Dólar (PTAX)",
        "ibov": "Ibovespa (futuro)",
        "cdi": "CDI",
        "selic": "meta Selic",
        "ipca": "IPCA do mês",
        "nav": "PL",
        "day": "resultado do dia",
        "mtd": "no mês",
        "ytd": "no ano",
        "best": "Melhores",
        "worst": "Piores",
        "var": "VaR 99 % 1d",
        "es": "ES 97,5 %",
        "stress": "pior estresse",
        "util": "maior uso de limite",
        "alerts": "alertas abertos",
        "none_pending": "Nenhuma proposta pendente.",
        "pending": "propostas pendentes",
        "breach": "rompe limite rígido",
        "no_events": "Sem eventos nos próximos dias.",
        "expiring": "vence em",
        "du": "d.u.",
        "ok": "Sem alertas de dados.",
        "no_book": "Sem marcação disponível.",
    },
    "en": {
        "market": "Market",
        "book": "Book",
        "risk": "Risk",
        "decisions": "Today's decisions",
        "calendar": "Calendar and expiries",
        "quality": "Data quality",
        "curve": "DI1 curve",
        "usd": "USD/BRL (PTAX)",
        "ibov": "Ibovespa (future)",
        "cdi": "CDI",
        "selic": "Selic target",
        "ipca": "IPCA for the month",
        "nav": "NAV",
        "day": "day P&L",
        "mtd": "MTD",
        "ytd": "YTD",
        "best": "Best",
        "worst": "Worst",
        "var": "VaR 99% 1d",
        "es": "ES 97.5%",
        "stress": "worst stress",
        "util": "highest limit use",
        "alerts": "open alerts",
        "none_pending": "No pending proposals.",
        "pending": "pending proposals",
        "breach": "breaches a hard limit",
        "no_events": "No events in the coming days.",
        "expiring": "expires in",
        "du": "business days",
        "ok": "No data warnings.",
        "no_book": "No marks available.",
    },
}


def template_narrative(facts: dict[str, Any], language: str) -> str:
    """A deterministic narrative built only from the facts (so it is always grounded)."""
    n = _Numbers(language)
    t = LABELS[language]
    sections = (_market_lines, _book_lines, _risk_lines, _decision_lines, _calendar_lines)
    lines = [line for section in sections for line in section(facts, t, n)]
    quality = facts.get("data_quality") or []
    lines.append(f"{t['quality']}: " + (" ".join(quality) if quality else t["ok"]))
    return "\n".join(lines)


class _Numbers:
    """`n(value, places, signed)`: a number as the narrative writes it in one language."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, value: Any, places: int = 2, signed: bool = False) -> str:
        return _num(value, places, self.language, signed)


def _market_lines(facts: dict[str, Any], t: dict[str, str], n: _Numbers) -> list[str]:
    market = facts.get("market") or {}
    if not market:
        return []
    curve = ", ".join(
        f"{c['vertex']} {n(c['rate_pct'])} % ({n(c['change_bp'], 1, True)} bp)"
        for c in market.get("di1_curve", [])
        if c["vertex"] in ("1y", "2y", "5y", "10y")
    )
    usd = market.get("usdbrl", {})
    ibov = market.get("ibovespa", {})
    return [
        f"{t['market']}: {t['curve']} {curve}.",
        f"{t['usd']} {n(usd.get('ptax'), 4)} ({n(usd.get('change_pct'), 2, True)} %); "
        f"{t['ibov']} {n(ibov.get('level'), 0)} ({n(ibov.get('change_pct'), 2, True)} %); "
        f"{t['cdi']} {n(market.get('cdi_pct'))} %, {t['selic']} "
        f"{n(market.get('selic_target_pct'))} %, {t['ipca']} "
        f"{n((market.get('ipca') or {}).get('monthly_pct'))} %.",
    ]


def _book_lines(facts: dict[str, Any], t: dict[str, str], n: _Numbers) -> list[str]:
    book = facts.get("book") or {}
    if not book:
        return [f"{t['book']}: {t['no_book']}"]
    lines = [
        f"{t['book']}: {t['nav']} R$ {n(book['nav'], 0)}; {t['day']} R$ "
        f"{n(book['day_pnl'], 0, True)} ({n(book['day_pnl_bps'], 1, True)} bp), {t['mtd']} "
        f"R$ {n(book['mtd_pnl'], 0, True)}, {t['ytd']} R$ {n(book['ytd_pnl'], 0, True)}."
    ]
    for key, label in (("top", t["best"]), ("bottom", t["worst"])):
        if book.get(key):
            names = "; ".join(f"{r['ticker']} R$ {n(r['pnl'], 0, True)}" for r in book[key])
            lines.append(f"{label}: {names}.")
    return lines


def _risk_lines(facts: dict[str, Any], t: dict[str, str], n: _Numbers) -> list[str]:
    risk = facts.get("risk") or {}
    if not risk.get("snapshot"):
        return []
    worst = risk.get("worst_stress") or {}
    util = risk.get("max_utilisation") or {}
    return [
        f"{t['risk']}: {t['var']} R$ {n(risk['var99'], 0)} ({n(risk['var99_pct_nav'])} %), "
        f"{t['es']} R$ {n(risk['es975'], 0)}; {t['stress']} {worst.get('name', '—')} R$ "
        f"{n(worst.get('pnl'), 0, True)}; {t['util']} {n(util.get('pct'), 0)} %; "
        f"{t['alerts']}: {n(risk.get('open_alerts'), 0)}."
    ]


def _decision_lines(facts: dict[str, Any], t: dict[str, str], n: _Numbers) -> list[str]:
    proposals = facts.get("proposals") or []
    if not proposals:
        return [f"{t['decisions']}: {t['none_pending']}"]
    lines = [f"{t['decisions']}: {n(len(proposals), 0)} {t['pending']}."]
    for p in proposals:
        flag = f" — {t['breach']}" if p.get("hard_breaches") else ""
        lines.append(f"- #{p['id']} {p['side']} {n(p['quantity'], 0)} {p['instrument']}{flag}")
    return lines


def _calendar_lines(facts: dict[str, Any], t: dict[str, str], n: _Numbers) -> list[str]:
    events = facts.get("calendar") or []
    expiries = facts.get("expiries") or []
    if not (events or expiries):
        return [f"{t['calendar']}: {t['no_events']}"]
    agenda = [f"{e['date']} {e['title']}" for e in events]
    agenda += [
        f"{x['ticker']} {t['expiring']} {n(x['business_days'], 0)} {t['du']}" for x in expiries
    ]
    return [f"{t['calendar']}: " + "; ".join(agenda) + "."]
