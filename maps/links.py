"""Links between the planner's pages, written once: the start page and the gaps map both send a
planner to the plan that closes a gap, and to the gaps map of a target or unit."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from geo.analysis.gaps import PlanQuestion


def href(path: str, **query: Any) -> str:
    """A same-site link, escaped for an attribute (codes come from the region's files)."""
    return escape(f"{path}?{urlencode(query)}" if query else path)


def plan_href(question: PlanQuestion) -> str:
    """The plan page asked ``question`` (escaped for an attribute)."""
    return href("/maps/plan", type=question.type_code, add=question.add, min_per_county=question.min_per_county)


def gaps_href(target_code: str, unit: str | None = None) -> str:
    """The gaps map of one target, zoomed to ``unit`` when given (escaped for an attribute)."""
    return href("/maps/gaps", target=target_code, **({"unit": unit} if unit else {}))
