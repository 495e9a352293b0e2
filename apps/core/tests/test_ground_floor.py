"""apps.core is the ground floor: it imports no other app, not even inside a function."""

from __future__ import annotations

import grimp


def test_core_imports_no_other_app() -> None:
    graph = grimp.build_graph("apps", include_external_packages=False)
    upward = sorted(
        f"{module} -> {imported}"
        for module in graph.find_descendants("apps.core") | {"apps.core"}
        if ".tests" not in module
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("apps.") and not imported.startswith("apps.core")
    )
    assert upward == []
