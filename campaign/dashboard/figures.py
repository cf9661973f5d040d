"""Every figure on the dashboard, computed together and cached per filter and scope."""

from __future__ import annotations

from dataclasses import dataclass

from campaign.commitments.aggregates import (
    PolicyAdoption,
    RecentChange,
    StateAdoption,
    Totals,
    adoption_by_policy,
    adoption_by_priority,
    adoption_by_state,
    cached_jurisdiction_figures,
    pledges_by_month,
    policy_stage_counts,
    recent_changes,
    totals,
)
from campaign.commitments.filters import AdoptionFilter
from campaign.figures.cache import cached


@dataclass(frozen=True)
class DashboardFigures:
    totals: Totals
    policies: list[PolicyAdoption]
    priorities: list[tuple[str, int, int]]
    states: list[StateAdoption]
    months: list[tuple[str, int, int]]
    recent: list[RecentChange]
    other_states: int = 0  # released unnamed commitments under no state (disclosure.py)

    @property
    def policy_bars(self) -> list[tuple[str, int]]:
        return [(p.title, p.commitments) for p in self.policies]

    @property
    def priority_bars(self) -> list[tuple[str, int]]:
        return [(title, commitments) for title, commitments, _policies in self.priorities]


def dashboard_figures(flt: AdoptionFilter, scope: str) -> DashboardFigures:
    def compute() -> DashboardFigures:
        counts = policy_stage_counts(flt, scope)
        places = cached_jurisdiction_figures(flt, scope)
        policies = adoption_by_policy(flt, scope, counts)
        return DashboardFigures(
            totals=totals(flt, scope, counts, places),
            policies=policies,
            priorities=adoption_by_priority(policies),
            states=adoption_by_state(places),
            months=pledges_by_month(flt, scope),
            recent=recent_changes(flt, scope),
            other_states=places.areas.other_states,
        )

    return cached(("dashboard", scope, flt.cache_key), compute, unaffected_by=flt.unaffected_by)
