"""The steps of `seed_demo`, in order: the cast, the market, the funds, their compliance (rules,
margins, the history's checks), the cast's fund grants, the funds' last pipelines."""

from __future__ import annotations

from apps.demo.compliance import seed_compliance
from apps.demo.fund import seed_fund
from apps.demo.market.store import seed_demo_market
from apps.demo.options import SeedOptions, SeedStep
from apps.demo.pipelines import seed_pipelines
from apps.demo.users import ensure_demo_grants, ensure_demo_users


def seed_users(options: SeedOptions) -> str:
    logins = ensure_demo_users(reset_passwords=options.reset_passwords)
    width = max(len(username) for username, _, _ in logins)
    lines = ["Demo logins:", f"  {'username':<{width}}  {'role':<11}  password"]
    lines += [f"  {user:<{width}}  {role:<11}  {password}" for user, role, password in logins]
    return "\n".join(lines)


def seed_grants(options: SeedOptions) -> str:
    grants = ensure_demo_grants()
    return "Fund grants: " + "; ".join(f"{user} {funds}" for user, funds in grants) + "."


def seed_market(options: SeedOptions) -> str:
    result = seed_demo_market(options.start, options.end, seed=options.seed)
    span = f"{result.days[0]} .. {result.days[-1]} ({len(result.days)} business days)"
    added, generated = result.added, result.generated
    if result.generated_from is None or not (added.instruments or added.prices or added.fixings):
        return f"Market {span}: already seeded, nothing added."
    summary = (
        f"Market {span}: generated from {result.generated_from}, added {added.instruments} "
        f"instruments, {added.prices} prices, {added.fixings} fixings"
    )
    if added != generated:
        summary += (
            f" (of {generated.instruments}, {generated.prices}, {generated.fixings} generated; "
            "the others were already there)"
        )
    return summary + "."


SEEDERS: list[SeedStep] = [
    seed_users,
    seed_market,
    seed_fund,
    seed_compliance,
    seed_grants,
    seed_pipelines,
]
