"""The tables `python -m alpaca_ads.evaluate` prints, drawn from its figures dict (Markdown).

Knows the figures' shape only (see `evaluate.evaluate`); computes nothing but formatting.
"""

from __future__ import annotations

from typing import Any

# The acceptance targets: (section, key, comparison, bound).
TARGETS = (
    ("loop", "pass_all_final", ">=", 0.95),
    ("headline_readback", "en", ">=", 0.97),
    ("headline_readback", "zh", ">=", 0.97),
    ("loop", "fix_rate", ">=", 0.50),
    ("loop", "break_rate", "<=", 0.01),
    ("copy", "offer_exact", ">=", 1.0),
    ("copy", "product_named", ">=", 0.98),
    ("copy", "limits_kept", ">=", 1.0),
    ("copy", "share_3plus_distinct_of_4", ">=", 0.90),
    ("unseen", "pass_all", ">=", 0.90),
    ("unseen_handwritten", "pass_all", ">=", 0.90),
    ("refusals", "refused_gibberish", ">=", 1.0),
    ("refusals", "refused_no_product", ">=", 1.0),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table under a title."""
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def checks_table(title: str, by_group: dict[str, dict[str, float | None]]) -> str:
    """Checks as rows, groups (sizes or languages) as columns."""
    groups = list(by_group)
    names = list(next(iter(by_group.values()), {}))
    rows = [[name, *[by_group[g].get(name) for g in groups]] for name in names]
    return markdown_table(title, ["check", *groups], rows)


def _pairs_table(title: str, figures: dict[str, Any]) -> str:
    rows = [[k, v] for k, v in figures.items() if not isinstance(v, dict)]
    return markdown_table(title, ["figure", "value"], rows)


def acceptance_table(figures: dict[str, Any]) -> str:
    """Each acceptance target next to its measured figure (absent sections are skipped)."""
    rows = []
    for section, key, op, bound in TARGETS:
        value = figures.get(section, {}).get(key)
        if section not in figures:
            continue
        met = value is not None and (value >= bound if op == ">=" else value <= bound)
        rows.append([f"{section}.{key}", value, f"{op} {bound}", "yes" if met else "**no**"])
    return markdown_table("Acceptance (issue 13)", ["figure", "measured", "target", "met"], rows)


def report(figures: dict[str, Any]) -> str:
    """Every table of an evaluation, in reading order."""
    model = figures["model"]
    parts = [f"# Alpaca Ads evaluation: {model['name']} {model['version']}, "
             f"{figures['loop']['items']} held-out briefs, {figures['rounds']} rounds",
             _pairs_table("Loop", figures["loop"]),
             checks_table("Checks after the loop, by size", figures["checks_by_size"]),
             checks_table("Checks after the loop, by language", figures["checks_by_language"]),
             _pairs_table("Headline read back exactly (OCR)", figures["headline_readback"]),
             _pairs_table("Copy", figures["copy"]),
             _pairs_table("Refusals (brief_not_understood)", figures["refusals"])]
    for name, title in (("unseen", "Unseen briefs (marketer-style frames)"),
                        ("unseen_handwritten", "Unseen briefs (typed one by one)")):
        if name in figures:
            parts.append(_pairs_table(title, figures[name]))
            parts.append(_pairs_table(f"{title}: failed checks (items)",
                                      figures[name]["failed_checks"]))
    parts.append(acceptance_table(figures))
    return "\n\n".join(parts)
