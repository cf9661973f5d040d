"""Seeding and reading the policy catalog."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaign.catalog.models import Policy, PolicyResource, Priority
from campaign.catalog.toolkit import TOOLKIT
from campaign.extensions import db


def seed_catalog(toolkit: list[dict] = TOOLKIT) -> dict[str, int]:
    """Add priorities, policies and resource slots that are missing; never overwrite edits.

    Staff edit summaries and links in the app, so a second seed must leave their text alone:
    rows are matched by slug and only created when absent.
    """
    added = {"priorities": 0, "policies": 0}
    priorities = {p.slug: p for p in db.session.scalars(select(Priority))}
    policies = {p.slug: p for p in db.session.scalars(select(Policy))}
    for p_pos, pr in enumerate(toolkit):
        priority = priorities.get(pr["slug"])
        if priority is None:
            priority = Priority(
                slug=pr["slug"], title=pr["title"], summary=pr["summary"], position=p_pos
            )
            db.session.add(priority)
            added["priorities"] += 1
        for pol_pos, pol in enumerate(pr["policies"]):
            if pol["slug"] in policies:
                continue
            policy = Policy(
                slug=pol["slug"],
                priority=priority,
                title=pol["title"],
                short_title=pol["short_title"],
                summary=pol["summary"],
                hostile_state_friendly=pol["check"],
                position=pol_pos,
                resources=[
                    PolicyResource(label=label, position=i)
                    for i, label in enumerate(pol["resources"])
                ],
            )
            db.session.add(policy)
            added["policies"] += 1
    db.session.flush()
    return added


def priorities_with_policies() -> list[Priority]:
    """The whole catalog in toolkit order, in two queries."""
    stmt = (
        select(Priority)
        .options(selectinload(Priority.policies).selectinload(Policy.resources))
        .order_by(Priority.position)
    )
    return list(db.session.scalars(stmt))


def get_policy_by_slug(slug: str) -> Policy | None:
    return db.session.scalar(select(Policy).where(Policy.slug == slug))


def update_policy(
    policy: Policy,
    *,
    summary: str,
    hostile_state_friendly: bool,
    resources: list[tuple[str, str | None]],
    actor,
) -> None:
    """Replace the editable text, flag and links; audited with before and after."""
    from campaign.audit.operations import changes_between, record

    before = {
        "summary": policy.summary,
        "hostile_state_friendly": policy.hostile_state_friendly,
        "resources": [f"{r.label} <{r.url or ''}>" for r in policy.resources],
    }
    policy.summary = summary
    policy.hostile_state_friendly = hostile_state_friendly
    policy.resources = [
        PolicyResource(label=label, url=url or None, position=i)
        for i, (label, url) in enumerate(resources)
    ]
    after = {
        "summary": summary,
        "hostile_state_friendly": hostile_state_friendly,
        "resources": [f"{label} <{url or ''}>" for label, url in resources],
    }
    changes = changes_between(before, after)
    if changes:
        record(actor, "policy.updated", policy, f"Catalog: {policy.short_title} edited", changes)
    db.session.flush()
