"""Bringing a published list in as a dated snapshot: the dry run, then the import.

`plan_snapshot` only reads. Each row is placed on a jurisdiction, needs a choice, or cannot
be placed (with its reason), and is compared with what earlier snapshots listed: a new
agreement, one still listed, one listed again, or one this snapshot already holds.
Agreements earlier lists had and this one does not are "no longer listed". `apply_snapshot`
re-plans inside its own transaction and writes only differences, so importing the same file
twice changes nothing the second time.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from campaign.accounts.models import User
from campaign.audit.operations import record
from campaign.catalog.models import Policy
from campaign.extensions import db
from campaign.figures import revision
from campaign.imports.sheets import parse_date, remember_mapping, saved_mapping
from campaign.imports.spreadsheet import Field, Sheet, guess_mapping, header_key
from campaign.layers.models import (
    LayerAgreement,
    LayerMapping,
    LayerSnapshot,
    LayerStatus,
    ReferenceLayer,
)
from campaign.layers.placement import AgencyPlacer, Placed, Placement, given, jurisdiction_by_key
from campaign.places.matching import STATES, normalize_name, parse_state
from campaign.places.models import Jurisdiction
from campaign.places.search import Match

FIELDS: tuple[Field, ...] = (
    Field("state", "State", ("state", "st", "state name", "state code"), required=True),
    Field("agency", "Agency", ("law enforcement agency", "agency", "agency name",
          "law enforcement agency name", "department", "lea"), required=True),
    Field("agency_type", "Type of agency", ("type", "agency type", "jurisdiction type",
          "level", "type of agency")),
    Field("county", "County", ("county", "county name", "parish", "county parish")),
    Field("support_type", "Support type", ("support type", "model", "program",
          "287 g model", "agreement type", "type of agreement", "support")),
    Field("signed", "Date signed", ("signed", "date signed", "signed on", "signature date",
          "moa date", "effective date", "date")),
    Field("link", "Link to the agreement", ("moa", "link", "moa link", "agreement",
          "url", "agreement link")),
)  # fmt: skip
FIELD_NAMES = tuple(f.name for f in FIELDS)
LEAVE_UNPLACED = "-"  # a choice: this agency is on no jurisdiction


class Change(enum.StrEnum):
    NEW = "new"
    LISTED = "listed"  # listed before, and again
    RELISTED = "relisted"  # no longer listed at some point, listed again now
    PRESENT = "present"  # this snapshot already holds it (the same file again)
    DUPLICATE = "duplicate"
    FAIL = "fail"

    @property
    def label(self) -> str:
        return {
            "new": "New agreement",
            "listed": "Still listed",
            "relisted": "Listed again",
            "present": "Already imported",
            "duplicate": "Same as an earlier row",
            "fail": "Cannot be imported",
        }[self.value]


class LayerImportRefused(ValueError):
    """The list cannot be imported as asked; the message is for staff."""


@dataclass
class RowPlan:
    number: int
    agency: str = ""
    state: str = ""
    agency_type: str = ""
    county: str = ""
    support_type: str = ""
    signed_on: date | None = None
    link: str | None = None
    placement: Placement = Placement.UNPLACED
    jurisdiction: Jurisdiction | None = None
    candidates: list[Match] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    change: Change = Change.NEW
    agreement: LayerAgreement | None = None

    @property
    def agency_key(self) -> str:
        return normalize_name(self.agency)

    @property
    def choice_key(self) -> str:
        """One choice per spelling serves every row of that agency (each support type)."""
        return choice_key(self.state, self.agency)


def choice_key(state: str, agency: str) -> str:
    return f"{state}|{normalize_name(agency)}"


@dataclass
class Plan:
    rows: list[RowPlan]
    ended: list[LayerAgreement]
    snapshot: LayerSnapshot | None  # the snapshot of that date, if already imported

    @property
    def placement_counts(self) -> dict[Placement, int]:
        counted = Counter(r.placement for r in self.rows if r.change != Change.FAIL)
        return {p: counted.get(p, 0) for p in Placement}

    @property
    def change_counts(self) -> dict[Change, int]:
        counted = Counter(r.change for r in self.rows)
        return {c: counted.get(c, 0) for c in Change}

    @property
    def importable(self) -> list[RowPlan]:
        return [r for r in self.rows if r.change not in (Change.FAIL, Change.DUPLICATE)]

    @property
    def placed_share(self) -> float:
        rows = self.importable
        placed = sum(1 for r in rows if r.placement == Placement.PLACED)
        return placed / len(rows) if rows else 0.0

    def of(self, placement: Placement) -> list[RowPlan]:
        return [r for r in self.importable if r.placement == placement]

    @property
    def failed(self) -> list[RowPlan]:
        return [r for r in self.rows if r.change == Change.FAIL]


# --- Layers --------------------------------------------------------------------------------


def slugify(name: str) -> str:
    """ "287(g) agreements" → "287g-agreements": brackets join what they hold."""
    return "-".join(normalize_name(re.sub(r"[()\[\]]", "", name)).split())[:80]


def find_layer(name_or_slug: str) -> ReferenceLayer | None:
    slug = slugify(name_or_slug)
    return db.session.scalar(select(ReferenceLayer).where(ReferenceLayer.slug == slug))


def get_or_create_layer(name: str, policy: Policy, source_note: str = "") -> ReferenceLayer:
    """The layer called `name`, made on first use; refuses one that concerns another policy."""
    name = " ".join(name.split())
    slug = slugify(name)
    if not slug:
        raise LayerImportRefused("Give the layer a name.")
    layer = find_layer(name)
    if layer is not None:
        if layer.policy_id != policy.id:
            raise LayerImportRefused(
                f"The layer “{layer.name}” concerns “{layer.policy.short_title}”, not "
                f"“{policy.short_title}”."
            )
        return layer
    layer = ReferenceLayer(slug=slug, name=name[:200], policy=policy, source_note=source_note)
    db.session.add(layer)
    db.session.flush()
    return layer


# --- Mapping -------------------------------------------------------------------------------


def guess_layer_mapping(headers: list[str]) -> dict[str, str | None]:
    return guess_mapping(headers, FIELDS)


def saved_layer_mapping(headers: list[str]) -> dict[str, str | None] | None:
    return saved_mapping(headers, LayerMapping)


def check_layer_mapping(mapping: dict[str, str | None], headers: list[str]) -> list[str]:
    """Problems with a mapping, in words; empty when it can be used."""
    problems = []
    if not mapping.get("agency"):
        problems.append("Choose the column that holds the agency's name.")
    if not mapping.get("state"):
        problems.append("Choose the column that holds the state.")
    used = [h for h in mapping.values() if h]
    for header in sorted({h for h in used if used.count(h) > 1}):
        problems.append(f"The column “{header}” is chosen for more than one field.")
    for header in used:
        if header not in headers:
            problems.append(f"The file has no column “{header}”.")
    return problems


def remember_layer_mapping(headers: list[str], mapping: dict[str, str | None]) -> None:
    remember_mapping(headers, mapping, LayerMapping, FIELD_NAMES)


def sheet_digest(sheet: Sheet) -> str:
    """What identifies a list's content whatever file it came in."""
    text = json.dumps([[header_key(h) for h in sheet.headers], sheet.rows], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- Planning ------------------------------------------------------------------------------


def latest_snapshot(layer: ReferenceLayer, status: LayerStatus) -> LayerSnapshot | None:
    return db.session.scalar(
        select(LayerSnapshot)
        .where(LayerSnapshot.layer_id == layer.id, LayerSnapshot.status == status)
        .order_by(LayerSnapshot.as_of.desc())
        .limit(1)
    )


def plan_snapshot(
    layer: ReferenceLayer | None,
    status: LayerStatus,
    as_of: date,
    sheet: Sheet,
    mapping: dict[str, str | None],
    choices: dict[str, str] | None = None,
    placer: AgencyPlacer | None = None,
) -> Plan:
    """What importing `sheet` as the list of `as_of` would do now, row by row. Reads only.

    `layer` is None for a layer that the import will make: nothing is listed in it yet."""
    choices = choices or {}
    latest = latest_snapshot(layer, status) if layer is not None else None
    if latest is not None and latest.as_of > as_of:
        raise LayerImportRefused(
            f"A newer {status.label.lower()} list (as of {latest.as_of.isoformat()}) is "
            "already imported: import lists in the order of their dates."
        )
    this = None
    existing: dict[tuple[str, str, str], LayerAgreement] = {}
    snapshot_dates: dict[int, date] = {}
    if layer is not None:
        this = db.session.scalar(
            select(LayerSnapshot).where(
                LayerSnapshot.layer_id == layer.id,
                LayerSnapshot.status == status,
                LayerSnapshot.as_of == as_of,
            )
        )
        existing = {
            (a.state, a.agency_key, a.support_type): a
            for a in db.session.scalars(
                select(LayerAgreement)
                .options(joinedload(LayerAgreement.jurisdiction))
                .where(LayerAgreement.layer_id == layer.id, LayerAgreement.status == status)
            )
        }
        snapshot_dates = dict(
            db.session.execute(
                select(LayerSnapshot.id, LayerSnapshot.as_of).where(
                    LayerSnapshot.layer_id == layer.id
                )
            ).all()
        )
    placed_before = {
        (a.state, a.agency_key): a.jurisdiction
        for a in existing.values()
        if a.jurisdiction is not None
    }
    placer = placer or AgencyPlacer()
    columns = {f: sheet.headers.index(h) for f, h in mapping.items() if h in sheet.headers}
    seen: dict[tuple[str, str, str], int] = {}
    rows: list[RowPlan] = []
    for number, cells in sheet.rows:
        values = {f: cells[i] for f, i in columns.items()}
        row = _read_row(number, values)
        rows.append(row)
        if row.change == Change.FAIL:
            continue
        key = (row.state, row.agency_key, row.support_type)
        if key in seen:
            row.change = Change.DUPLICATE
            row.reason = f"Same agency and support type as row {seen[key]}."
            continue
        seen[key] = number
        _place_row(row, values, placer, choices, existing.get(key), placed_before)
        agreement = existing.get(key)
        row.agreement = agreement
        if agreement is None:
            row.change = Change.NEW
        elif this is not None and agreement.last_snapshot_id == this.id:
            row.change = Change.PRESENT
        elif agreement.ended_snapshot_id is not None:
            row.change = Change.RELISTED
            ended_on = snapshot_dates.get(agreement.ended_snapshot_id)
            row.notes.append(f"It was not listed from {ended_on.isoformat()}.")
        else:
            row.change = Change.LISTED
    ended = []
    if this is None:
        ended = sorted(
            (
                a
                for k, a in existing.items()
                if k not in seen
                and a.ended_snapshot_id is None
                and snapshot_dates.get(a.last_snapshot_id, as_of) < as_of
            ),
            key=lambda a: (a.state, a.agency_key, a.support_type),
        )
    return Plan(rows, ended, this)


def _read_row(number: int, values: dict[str, str]) -> RowPlan:
    row = RowPlan(number=number)
    row.agency = " ".join(values.get("agency", "").split())[:300]
    state_text = values.get("state", "")
    row.agency_type = " ".join(values.get("agency_type", "").split())[:100]
    row.county = given(values.get("county", ""))[:200]
    row.support_type = " ".join(values.get("support_type", "").split())[:100]
    if not row.agency:
        row.change = Change.FAIL
        row.reason = "No agency is named in this row."
        return row
    state = parse_state(state_text)
    if state is None:
        row.change = Change.FAIL
        shown = state_text.strip() or "(empty)"
        row.reason = f"The state “{shown}” is not a US state."
        return row
    row.state = state
    signed = values.get("signed", "")
    try:
        row.signed_on = parse_date(signed)
    except ValueError:
        row.notes.append(f"The date signed “{signed[:40]}” is not a date; left out.")
    link = values.get("link", "").strip()
    if link.lower().startswith(("http://", "https://")) and len(link) <= 2000:
        row.link = link
    return row


def _place_row(
    row: RowPlan,
    values: dict[str, str],
    placer: AgencyPlacer,
    choices: dict[str, str],
    agreement: LayerAgreement | None,
    placed_before: dict[tuple[str, str], Jurisdiction],
) -> None:
    chosen = choices.get(row.choice_key)
    if chosen == LEAVE_UNPLACED:
        row.placement = Placement.UNPLACED
        row.reason = "Left unplaced by staff."
        return
    if chosen:
        jurisdiction = jurisdiction_by_key(chosen)
        if jurisdiction is not None:
            row.placement, row.jurisdiction = Placement.PLACED, jurisdiction
            row.notes.append("Placed as chosen.")
            return
    earlier = agreement.jurisdiction if agreement is not None else None
    earlier = earlier or placed_before.get((row.state, row.agency_key))
    if earlier is not None:
        row.placement, row.jurisdiction = Placement.PLACED, earlier
        return
    placed: Placed = placer.place(row.agency, values.get("state", ""), row.agency_type, row.county)
    row.placement = placed.outcome
    row.jurisdiction = placed.jurisdiction
    row.candidates = placed.candidates
    row.reason = placed.reason
    if placed.note:
        row.notes.append(placed.note)


# --- Applying ------------------------------------------------------------------------------


@dataclass
class Applied:
    snapshot: LayerSnapshot
    plan: Plan
    created: int = 0
    relisted: int = 0
    ended: int = 0
    replaced: int = 0  # placements that changed

    @property
    def changed_nothing(self) -> bool:
        return not (self.created or self.relisted or self.ended or self.replaced)


def apply_snapshot(
    layer: ReferenceLayer,
    status: LayerStatus,
    as_of: date,
    sheet: Sheet,
    mapping: dict[str, str | None],
    choices: dict[str, str] | None,
    actor: User | None,
    filename: str = "",
) -> Applied:
    """Write what a fresh plan says; flushes, the caller commits.

    Rows still needing a choice are stored unplaced, with the reason, so they are listed
    and a later choice (or a later list) can place them.
    """
    problems = check_layer_mapping(mapping, sheet.headers)
    if problems:
        raise LayerImportRefused(" ".join(problems))
    plan = plan_snapshot(layer, status, as_of, sheet, mapping, choices)
    snapshot = plan.snapshot
    digest = sheet_digest(sheet)
    if snapshot is None:
        snapshot = LayerSnapshot(
            layer=layer, status=status, as_of=as_of, imported_by=actor, filename=filename[:255]
        )
        db.session.add(snapshot)
        db.session.flush()
    applied = Applied(snapshot, plan)
    for row in plan.importable:
        jurisdiction_id = row.jurisdiction.id if row.jurisdiction is not None else None
        reason = None if jurisdiction_id else (row.reason or "Not placed on a jurisdiction.")
        agreement = row.agreement
        if agreement is None:
            agreement = LayerAgreement(
                layer=layer,
                status=status,
                state=row.state,
                agency_key=row.agency_key,
                agency=row.agency,
                first_snapshot=snapshot,
                last_snapshot=snapshot,
            )
            db.session.add(agreement)
            applied.created += 1
        else:
            if row.change == Change.RELISTED:
                agreement.ended_snapshot_id = None
                applied.relisted += 1
            if agreement.last_snapshot_id != snapshot.id:
                agreement.last_snapshot_id = snapshot.id
            if agreement.jurisdiction_id != jurisdiction_id:
                applied.replaced += 1
        _set_if_changed(agreement, "agency", row.agency)
        _set_if_changed(agreement, "agency_type", row.agency_type)
        _set_if_changed(agreement, "county_text", row.county)
        _set_if_changed(agreement, "support_type", row.support_type)
        _set_if_changed(agreement, "signed_on", row.signed_on)
        _set_if_changed(agreement, "link", row.link)
        _set_if_changed(agreement, "jurisdiction_id", jurisdiction_id)
        _set_if_changed(agreement, "unplaced_reason", reason)
    for agreement in plan.ended:
        agreement.ended_snapshot_id = snapshot.id
        applied.ended += 1
    changed = not applied.changed_nothing or snapshot.sha256 != digest
    if changed:
        snapshot.sha256 = digest
        snapshot.rows = len(plan.importable)
        if filename and not snapshot.filename:
            snapshot.filename = filename[:255]
        db.session.flush()
        record(
            actor,
            "layer.snapshot_imported",
            snapshot,
            f"{layer.name}, {status.label.lower()} list as of {as_of.isoformat()}: "
            f"{applied.created} new, {applied.ended} no longer listed, "
            f"{applied.relisted} listed again",
        )
        revision.bump()  # the map's layer, the policy's targets and the queue change
    db.session.flush()
    return applied


def _set_if_changed(obj, name: str, value) -> None:
    if getattr(obj, name) != value:
        setattr(obj, name, value)


def describe_state(code: str) -> str:
    return STATES.get(code, code)
