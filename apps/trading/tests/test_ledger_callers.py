"""Nothing books around the pre-trade check: the ledger's `record_trade` (and the re-marking
`record_and_remark`) are called only by the booking service, the ledger's own corrections, the
demo seed and the replay of `verify_system`. Tests may call the ledger directly."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LEDGER_CALLS = {"record_trade", "record_and_remark"}
# (file, enclosing function) → the ledger calls it may make, and why.
ALLOWED = {
    # The entry point: `book_trade` runs `pretrade.check` and `enforce` before either call.
    ("apps/trading/services.py", "book_trade"): {"record_trade", "record_and_remark"},
    # A booked trade plus its re-mark (called by `book_trade` only, see above).
    ("apps/positions/corrections.py", "record_and_remark"): {"record_trade"},
    ("apps/demo/fund/seed.py", "record"): {"record_trade"},  # the demo seed
    ("apps/ops/verify.py", "trade"): {"record_trade"},  # verify_system's rolled-back replay
}


class _Calls(ast.NodeVisitor):
    """Each ledger call with the innermost function it is made in."""

    def __init__(self, relative: str) -> None:
        self.relative, self.stack, self.found = relative, ["<module>"], set[tuple[str, str, str]]()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in LEDGER_CALLS:
            self.found.add((self.relative, self.stack[-1], name))
        self.generic_visit(node)


def _calls() -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for base in ("apps", "pms_project", "scripts"):
        for path in (ROOT / base).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/tests/" in relative or "/migrations/" in relative:
                continue
            visitor = _Calls(relative)
            visitor.visit(ast.parse(path.read_text(), filename=relative))
            found |= visitor.found
    return found


def test_only_the_entry_points_reversals_seed_and_replay_call_the_ledger() -> None:
    calls = _calls()
    stray = sorted(c for c in calls if c[2] not in ALLOWED.get((c[0], c[1]), set()))
    assert stray == [], f"booking around the pre-trade check: {stray}"
    assert ("apps/trading/services.py", "book_trade", "record_trade") in calls  # the scan sees


def test_book_trade_enforces_the_check_before_it_books() -> None:
    source = (ROOT / "apps/trading/services.py").read_text()
    body = source[source.index("def book_trade(") :]
    body = body[: body.index("\ndef ")]
    assert body.index("pretrade.enforce(") < body.index("record_and_remark(")
    assert body.index("pretrade.check(") < body.index("pretrade.enforce(")
