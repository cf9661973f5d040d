"""Where to act next, for a policy a layer concerns: the lists organizers and staff work from.

- jurisdictions with an agreement and a committed official;
- jurisdictions with an agreement and no commitment yet (where to recruit);
- committed jurisdictions whose agreements are no longer listed since the pledge (a possible
  win, which the follow-up queue asks staff to confirm).

The layer is public; the commitments keep their rules. Outside staff only *named*
commitments count here (`scope_named`): a list by jurisdiction would otherwise tell anyone
where an official who asked to be counted, not named, has committed. So for an organizer
an unnamed commitment leaves its jurisdiction among those with no public commitment yet,
exactly as if it did not exist. Staff see every commitment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from campaign.accounts.models import User
from campaign.accounts.roles import can_view_dashboard
from campaign.catalog.models import Policy
from campaign.commitments.models import Commitment
from campaign.commitments.visibility import (
    STAFF_SCOPE,
    active_condition,
    aggregate_scope,
    scope_named,
)
from campaign.extensions import db
from campaign.layers.models import LayerAgreement, LayerSnapshot, LayerStatus, ReferenceLayer
from campaign.places.models import Jurisdiction

SORTS = ("population", "name")
LIST_LIMIT = 200


@dataclass
class Target:
    """One jurisdiction on a target list, with what the layer and the commitments say."""

    jurisdiction: Jurisdiction
    support_types: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    signed_on: date | None = None
    ended_on: date | None = None  # the first list that no longer had its agreements
    officials: list[tuple[str, date]] = field(default_factory=list)  # (name, pledged on)


@dataclass
class LayerTargets:
    layer: ReferenceLayer
    as_of: date | None
    pending_as_of: date | None
    staff: bool
    with_commitment: list[Target]
    without_commitment: list[Target]
    ended_after_pledge: list[Target]
    with_agreement: int = 0
    pending: int = 0
    without_total: int = 0
    lists: bool = True  # False: the public sees the layer's own counts, no commitment lists


def layers_for_policy(policy: Policy) -> list[ReferenceLayer]:
    return list(
        db.session.scalars(
            select(ReferenceLayer)
            .where(ReferenceLayer.policy_id == policy.id)
            .order_by(ReferenceLayer.name)
        )
    )


def all_layers() -> list[ReferenceLayer]:
    return list(db.session.scalars(select(ReferenceLayer).order_by(ReferenceLayer.name)))


def _latest_dates(layer_ids: list[int]) -> dict[tuple[int, LayerStatus], date]:
    if not layer_ids:
        return {}
    rows = db.session.execute(
        select(LayerSnapshot.layer_id, LayerSnapshot.status, func.max(LayerSnapshot.as_of))
        .where(LayerSnapshot.layer_id.in_(layer_ids))
        .group_by(LayerSnapshot.layer_id, LayerSnapshot.status)
    )
    return {(layer_id, status): as_of for layer_id, status, as_of in rows}


def targets_for(
    layers: list[ReferenceLayer], viewer, sort: str = "population"
) -> list[LayerTargets]:
    """The target lists of each layer for this viewer, in a fixed number of queries.

    Organizers and staff get the lists; anyone else the layer's public counts only."""
    if not layers:
        return []
    found = _targets(layers, aggregate_scope(viewer), sort if sort in SORTS else "population")
    if not can_view_dashboard(viewer):
        for targets in found:
            targets.with_commitment, targets.without_commitment = [], []
            targets.ended_after_pledge = []
            targets.lists = False
    return found


def _targets(layers: list[ReferenceLayer], scope: str, sort: str) -> list[LayerTargets]:
    layer_ids = [layer.id for layer in layers]
    dates = _latest_dates(layer_ids)
    ended = aliased(LayerSnapshot)
    agreements = db.session.execute(
        select(
            LayerAgreement.layer_id,
            LayerAgreement.status,
            LayerAgreement.jurisdiction_id,
            LayerAgreement.agency,
            LayerAgreement.support_type,
            LayerAgreement.signed_on,
            ended.as_of,
        )
        .outerjoin(ended, ended.id == LayerAgreement.ended_snapshot_id)
        .where(LayerAgreement.layer_id.in_(layer_ids), LayerAgreement.jurisdiction_id.is_not(None))
    ).all()
    policy_of = {layer.id: layer.policy_id for layer in layers}
    jurisdiction_ids = {row.jurisdiction_id for row in agreements}
    commitments = db.session.execute(
        select(Commitment.policy_id, Commitment.jurisdiction_id, Commitment.pledged_on, User.name)
        .join(User, User.id == Commitment.official_id)
        .where(
            Commitment.policy_id.in_(set(policy_of.values())),
            Commitment.jurisdiction_id.in_(
                select(LayerAgreement.jurisdiction_id).where(LayerAgreement.layer_id.in_(layer_ids))
            ),
            scope_named(scope),
            active_condition(),
        )
        .order_by(Commitment.pledged_on, User.name)
    ).all()
    places = {
        j.id: j
        for j in db.session.scalars(
            select(Jurisdiction).where(
                Jurisdiction.id.in_(
                    select(LayerAgreement.jurisdiction_id).where(
                        LayerAgreement.layer_id.in_(layer_ids)
                    )
                )
            )
        )
    } if jurisdiction_ids else {}  # fmt: skip
    results = []
    for layer in layers:
        results.append(_layer_targets(layer, agreements, commitments, places, dates, scope, sort))
    return results


def _layer_targets(layer, agreements, commitments, places, dates, scope, sort) -> LayerTargets:
    current: dict[int, Target] = {}
    ended_only: dict[int, Target] = {}
    pending: set[int] = set()
    for row in agreements:
        if row.layer_id != layer.id or row.jurisdiction_id not in places:
            continue
        if row.status == LayerStatus.PENDING:
            if row.as_of is None:
                pending.add(row.jurisdiction_id)
            continue
        bucket = current if row.as_of is None else ended_only
        target = bucket.setdefault(row.jurisdiction_id, Target(places[row.jurisdiction_id]))
        if row.support_type and row.support_type not in target.support_types:
            target.support_types.append(row.support_type)
        if row.agency not in target.agencies:
            target.agencies.append(row.agency)
        if row.signed_on and (target.signed_on is None or row.signed_on > target.signed_on):
            target.signed_on = row.signed_on
        if row.as_of is not None and (target.ended_on is None or row.as_of > target.ended_on):
            target.ended_on = row.as_of
    for jurisdiction_id in current:
        ended_only.pop(jurisdiction_id, None)  # another agreement is still listed there
    committed: dict[int, list[tuple[str, date]]] = {}
    for policy_id, jurisdiction_id, pledged_on, name in commitments:
        if policy_id == layer.policy_id:
            committed.setdefault(jurisdiction_id, []).append((name, pledged_on))
    with_commitment, without_commitment = [], []
    for jurisdiction_id, target in current.items():
        if jurisdiction_id in committed:
            target.officials = committed[jurisdiction_id]
            with_commitment.append(target)
        else:
            without_commitment.append(target)
    ended_after_pledge = []
    for jurisdiction_id, target in ended_only.items():
        pledges = [p for p in committed.get(jurisdiction_id, []) if p[1] < target.ended_on]
        if pledges:
            target.officials = pledges
            ended_after_pledge.append(target)

    def by_population(t: Target):
        return (-(t.jurisdiction.population or 0), t.jurisdiction.label)

    def by_name(t: Target):
        return (t.jurisdiction.state, t.jurisdiction.name)

    key = by_population if sort == "population" else by_name
    with_commitment.sort(key=key)
    without_commitment.sort(key=key)
    ended_after_pledge.sort(key=lambda t: (t.ended_on, t.jurisdiction.label), reverse=True)
    return LayerTargets(
        layer=layer,
        as_of=dates.get((layer.id, LayerStatus.PARTICIPATING)),
        pending_as_of=dates.get((layer.id, LayerStatus.PENDING)),
        staff=scope == STAFF_SCOPE,
        with_commitment=with_commitment,
        without_commitment=without_commitment[:LIST_LIMIT],
        ended_after_pledge=ended_after_pledge,
        with_agreement=len(current),
        pending=len(pending),
        without_total=len(without_commitment),
    )


def agreements_ended_subquery():
    """Per (jurisdiction, policy): when a layer's list first no longer had an agreement there,
    where none is listed now. Joined once by the follow-up queue (a possible win)."""
    still = aliased(LayerAgreement)
    listed_now = exists().where(
        still.layer_id == LayerAgreement.layer_id,
        still.jurisdiction_id == LayerAgreement.jurisdiction_id,
        still.status == LayerStatus.PARTICIPATING,
        still.ended_snapshot_id.is_(None),
    )
    return (
        select(
            LayerAgreement.jurisdiction_id.label("jurisdiction_id"),
            ReferenceLayer.policy_id.label("policy_id"),
            func.max(LayerSnapshot.as_of).label("ended_on"),
        )
        .join(ReferenceLayer, ReferenceLayer.id == LayerAgreement.layer_id)
        .join(LayerSnapshot, LayerSnapshot.id == LayerAgreement.ended_snapshot_id)
        .where(
            LayerAgreement.status == LayerStatus.PARTICIPATING,
            LayerAgreement.jurisdiction_id.is_not(None),
            ~listed_now,
        )
        .group_by(LayerAgreement.jurisdiction_id, ReferenceLayer.policy_id)
        .subquery("agreements_ended")
    )


def ended_since_pledge(ended) -> object:
    """SQL: the commitment's agreement was no longer listed in a list dated after its pledge."""
    return and_(ended.c.ended_on.is_not(None), ended.c.ended_on > Commitment.pledged_on)
