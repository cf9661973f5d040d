"""The adoption filter shared by the map, the dashboard and their exports.

It lives in the URL (policy, priority, stage, state, hostile-state policies only) so a view
can be shared, and it turns into SQL conditions in one place. Unknown values are reported on
the form and ignored, never a 500.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from flask import render_template
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import ColumnElement, select
from wtforms import BooleanField, SelectChoice

from campaign.catalog.models import Policy, Priority
from campaign.commitments.models import Commitment
from campaign.commitments.stages import MAIN_LINE, Stage
from campaign.commitments.visibility import active_condition
from campaign.extensions import db
from campaign.figures.cache import cached
from campaign.places.matching import STATES
from campaign.places.models import Jurisdiction
from campaign.web.forms import SelectField

STAGE_THRESHOLDS = {
    "committed": ("Committed at all", None),
    "introduced": ("Introduced or further", Stage.INTRODUCED),
    "passed": ("Passed or further", Stage.PASSED),
    "implemented": ("Implemented", Stage.IMPLEMENTED),
}


@dataclass(frozen=True)
class AdoptionFilter:
    policy: str | None = None
    priority: str | None = None
    stage: str = "committed"
    state: str | None = None
    hostile_only: bool = False

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on Commitment alone.

        Policy and place criteria become `IN (small subquery)` on the commitment's own foreign
        keys, so aggregates scan one table instead of joining three for every row.
        """
        conditions: list[ColumnElement[bool]] = [active_condition()]
        floor = STAGE_THRESHOLDS[self.stage][1]
        if floor is not None:
            conditions.append(Commitment.stage.in_([s for s in MAIN_LINE if s.rank >= floor.rank]))
        policy_criteria = []
        if self.policy:
            policy_criteria.append(Policy.slug == self.policy)
        if self.priority:
            policy_criteria.append(
                Policy.priority_id.in_(select(Priority.id).where(Priority.slug == self.priority))
            )
        if self.hostile_only:
            policy_criteria.append(Policy.hostile_state_friendly.is_(True))
        if policy_criteria:
            conditions.append(Commitment.policy_id.in_(select(Policy.id).where(*policy_criteria)))
        if self.state:
            conditions.append(
                Commitment.jurisdiction_id.in_(
                    select(Jurisdiction.id).where(Jurisdiction.state == self.state)
                )
            )
        return conditions

    def covers(self, footprint: Mapping) -> bool:
        """Whether a commitment counted where `footprint` says (models.withdrawal_footprint)
        is one of the commitments conditions() selects: the same rules, read from the
        footprint's values instead of the tables (tests/test_filters.py holds them equal)."""
        if self.state and footprint["state"] != self.state:
            return False
        if self.policy and footprint["policy"] != self.policy:
            return False
        if self.priority and footprint["priority"] != self.priority:
            return False
        if self.hostile_only and not footprint["hostile"]:
            return False
        stage = Stage(footprint["stage"])
        if stage == Stage.WITHDRAWN:
            return False
        floor = STAGE_THRESHOLDS[self.stage][1]
        return floor is None or (stage in MAIN_LINE and stage.rank >= floor.rank)

    def unaffected_by(self, footprints: Collection[Mapping]) -> bool:
        """A figure for this filter is still exact after hiding writes with these
        footprints (figures/cache.py carries it over)."""
        return not any(self.covers(footprint) for footprint in footprints)

    def query_args(self) -> dict[str, str]:
        """The URL query for this filter, without defaults, for links and exports."""
        args = {
            "policy": self.policy or "",
            "priority": self.priority or "",
            "stage": "" if self.stage == "committed" else self.stage,
            "state": self.state or "",
            "hostile": "1" if self.hostile_only else "",
        }
        return {k: v for k, v in args.items() if v}

    @property
    def cache_key(self) -> tuple:
        return (self.policy, self.priority, self.stage, self.state, self.hostile_only)


class FilterForm(FlaskForm):
    """The filter as a GET form: labelled controls that also work without JavaScript."""

    class Meta:
        csrf = False

    policy = SelectField("Policy")
    priority = SelectField("Priority")
    stage = SelectField(
        "Stage",
        choices=[SelectChoice(k, label) for k, (label, _s) in STAGE_THRESHOLDS.items()],
        default="committed",
    )
    state = SelectField(
        "State",
        choices=[SelectChoice("", "All states")]
        + [SelectChoice(c, n) for c, n in sorted(STATES.items(), key=lambda kv: kv[1])],
    )
    hostile = BooleanField("Only ✓ policies (useful in hostile or preempting states)")

    def __init__(self, formdata, **kwargs):
        super().__init__(formdata=formdata, **kwargs)
        # Catalog edits hide (revision.py) and show at once; others' writes never change it.
        policies, priorities = cached(
            ("filter-choices",), _catalog_choices, own_writes_may_lag=True
        )
        self.policy.choices = [SelectChoice("", "All policies")] + [
            SelectChoice(slug, title) for slug, title in policies
        ]
        self.priority.choices = [SelectChoice("", "All priorities")] + [
            SelectChoice(slug, title) for slug, title in priorities
        ]

    def to_filter(self) -> AdoptionFilter:
        """The filter from the fields; an unknown value is flagged and ignored, not an error."""

        def chosen(field) -> str | None:
            if not field.data:
                return None
            if field.data in {choice.value for choice in field.choices}:
                return field.data
            field.errors = [*field.errors, "Unknown value, ignored: showing all."]
            return None

        return AdoptionFilter(
            policy=chosen(self.policy),
            priority=chosen(self.priority),
            stage=chosen(self.stage) or "committed",
            state=chosen(self.state),
            hostile_only=bool(self.hostile.data),
        )


def _catalog_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    policies = db.session.execute(
        select(Policy.slug, Policy.short_title).order_by(Policy.priority_id, Policy.position)
    ).all()
    priorities = db.session.execute(
        select(Priority.slug, Priority.title).order_by(Priority.position)
    ).all()
    return [tuple(p) for p in policies], [tuple(p) for p in priorities]


def filter_from_request(args) -> tuple[AdoptionFilter, FilterForm]:
    form = FilterForm(args)
    return form.to_filter(), form


def render_filter_form(form: FilterForm, flt: AdoptionFilter, action: str) -> Markup:
    """The filter form's HTML, cached per filter: WTForms takes milliseconds to render the
    seventy-odd options, more than the rest of a cached page.

    Keyed by the validated filter only, so hostile query strings never become cache keys;
    a form that flags an unknown value is rendered for that request and not kept.
    """

    def render() -> Markup:
        return Markup(render_template("_filters.html", form=form, action=action))  # noqa: S704

    if any(field.errors for field in form):
        return render()
    return cached(("filter-form-html", action, flt.cache_key), render)
