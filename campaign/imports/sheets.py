"""Spreadsheet imports: a dry run that says what each row will do, then the import itself.

`plan_rows` only reads. It sorts every row into create, update, skip (already present),
choose (a person must pick the jurisdiction or policy) or fail, each with the reason. The
import (`apply_plan`) re-plans inside its own transaction, so what is written is what the
data says at that moment, and writes only create and update rows. Officials and commitments
are found by natural keys (email; official + policy), so importing the same file twice
changes nothing the second time.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from campaign.accounts.models import AccountOrigin, User, normalize_email
from campaign.accounts.operations import AccountError, official_for, official_problem
from campaign.audit.operations import record, record_many
from campaign.catalog.models import Policy
from campaign.commitments.models import Commitment, Visibility
from campaign.commitments.operations import (
    CommitmentError,
    Reported,
    Source,
    check_event_date,
    check_target_date,
    decide_on_behalf,
    record_on_behalf,
)
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.imports.matching import JurisdictionMatcher, PolicyMatcher
from campaign.imports.models import ImportBatch, ImportStatus, SavedMapping
from campaign.imports.spreadsheet import FIELD_NAMES, Sheet, header_key
from campaign.places.matching import normalize_name, parse_state
from campaign.places.models import Jurisdiction
from campaign.places.search import get_by_key
from campaign.timeutil import today, utcnow
from campaign.validation import NOTE_MAX

DEFAULT_VISIBILITY = Visibility.COUNTED


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    SKIP = "skip"
    CHOOSE = "choose"
    FAIL = "fail"

    @property
    def label(self) -> str:
        return {
            "create": "Will be created",
            "update": "Will be updated",
            "skip": "Already present, skipped",
            "choose": "Needs a choice",
            "fail": "Cannot be imported",
        }[self.value]


@dataclass
class RowPlan:
    number: int
    action: Action
    reason: str = ""
    email: str = ""
    name: str = ""
    office: str = ""
    phone: str = ""
    jurisdiction: Jurisdiction | None = None
    policy: Policy | None = None
    stage: Stage = Stage.PLEDGED
    pledged_on: date | None = None
    stage_on: date | None = None
    target_date: date | None = None
    evidence_url: str | None = None
    visibility: Visibility = DEFAULT_VISIBILITY
    note: str | None = None
    jurisdiction_text: str = ""
    policy_text: str = ""
    jurisdiction_candidates: list = field(default_factory=list)
    policy_candidates: list[Policy] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new_official: bool = False
    jurisdiction_spelling: str = ""  # the choice (and form field) its place's spelling shares
    undated: bool = False  # the row gives no date at all
    date_estimated: bool = False  # ...and is recorded with its file's date, as staff chose
    policy_spelling: str = ""

    @property
    def reported(self) -> Reported:
        """The row as what the official reported, for `record_on_behalf`."""
        return Reported(
            stage=self.stage,
            on=self.stage_on,
            visibility=self.visibility,
            pledged_on=self.pledged_on,
            target_date=self.target_date,
            evidence_url=self.evidence_url,
            note=self.note,
            date_estimated=self.date_estimated,
        )


@dataclass
class Plan:
    rows: list[RowPlan]
    policies: list[Policy] = field(default_factory=list)  # the catalog, to choose from

    @property
    def counts(self) -> dict[Action, int]:
        counted = Counter(row.action for row in self.rows)
        return {action: counted.get(action, 0) for action in Action}

    @property
    def new_officials(self) -> int:
        return len({normalize_email(row.email) for row in self.rows if row.new_official})

    def of(self, action: Action) -> list[RowPlan]:
        return [row for row in self.rows if row.action == action]

    @property
    def undated(self) -> int:
        """Rows with no date at all, for the one choice of what to do with them."""
        return sum(1 for row in self.rows if row.undated and row.action != Action.FAIL)

    def choices_needed(self) -> list[ChoiceGroup]:
        """Each spelling a person must settle, once, with the rows that wait for it.

        Twenty rows that say "protect students at school" are one choice, not twenty.
        """
        groups: dict[str, ChoiceGroup] = {}
        for row in self.of(Action.CHOOSE):
            if row.jurisdiction is None:
                group = groups.setdefault(
                    row.jurisdiction_spelling,
                    ChoiceGroup(
                        row.jurisdiction_spelling,
                        "jurisdiction",
                        row.jurisdiction_text,
                        [(m.jurisdiction.key, f"{m.jurisdiction.label} — {m.description}")
                         for m in row.jurisdiction_candidates],
                    ),
                )  # fmt: skip
                group.rows.append(row)
            if row.policy is None:
                group = groups.setdefault(
                    row.policy_spelling,
                    ChoiceGroup(
                        row.policy_spelling,
                        "policy",
                        row.policy_text,
                        # The likeliest first, then the rest of the (short) catalog: a
                        # loose name may mean a policy the matcher did not think of.
                        [(p.slug, p.short_title) for p in row.policy_candidates]
                        + [
                            (p.slug, p.short_title)
                            for p in self.policies
                            if p not in row.policy_candidates
                        ],
                    ),
                )
                group.rows.append(row)
        return sorted(groups.values(), key=lambda g: (g.kind != "jurisdiction", -len(g.rows)))


@dataclass
class ChoiceGroup:
    """One spelling that needs a person's choice: a place or policy the sheet names loosely."""

    name: str  # the form field, and the key of the saved choice
    kind: str  # "jurisdiction" or "policy"
    text: str  # as the sheet writes it
    options: list[tuple[str, str]]  # (value, label) of each candidate
    rows: list[RowPlan] = field(default_factory=list)

    @property
    def allowed(self) -> set[str]:
        return {value for value, _label in self.options}


def spelling_key(prefix: str, *parts: str) -> str:
    """The saved choice of one spelling: the same for "Dona Ana, NM" and "dona ana, New Mexico"."""
    text = "\x1f".join(parts)
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


class ImportRefused(ValueError):
    """The batch cannot be imported as asked; the message is for staff."""


# --- Reading cell values -------------------------------------------------------------------

_STAGE_WORDS = {
    Stage.PLEDGED: ("pledged", "pledge", "committed", "commit", "signed", "signed on", "new",
                    "yes"),
    Stage.INTRODUCED: ("introduced", "filed", "proposed", "drafted", "on agenda",
                       "in committee", "intro"),
    Stage.PASSED: ("passed", "adopted", "approved", "enacted", "voted", "won"),
    Stage.IMPLEMENTED: ("implemented", "in effect", "in force", "done", "complete",
                        "completed", "live"),
    Stage.STALLED: ("stalled", "paused", "on hold", "stuck", "delayed", "tabled"),
    Stage.WITHDRAWN: ("withdrawn", "dropped", "abandoned", "cancelled", "canceled",
                      "rescinded", "no longer"),
}  # fmt: skip
STAGE_BY_WORD = {word: stage for stage, words in _STAGE_WORDS.items() for word in words}

_VISIBILITY_WORDS = {
    Visibility.PUBLIC: ("public", "yes", "named", "publish", "y", "true", "ok"),
    Visibility.COUNTED: ("counted", "counted not named", "anonymous", "unnamed", "not named",
                         "count only", "no", "n", "false"),
    Visibility.PRIVATE: ("private", "confidential", "staff only", "internal", "secret",
                         "do not count"),
}  # fmt: skip
VISIBILITY_BY_WORD = {w: v for v, words in _VISIBILITY_WORDS.items() for w in words}

_DATE_FORMATS = (
    "%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%Y/%m/%d", "%B %d, %Y", "%b %d, %Y",
    "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%b. %d, %Y", "%m.%d.%Y", "%B %Y",
    "%b %Y", "%Y-%m",
)  # fmt: skip
EXCEL_EPOCH = date(1899, 12, 30)


def parse_stage(text: str) -> Stage | None:
    """ "Passed", "ADOPTED", "on hold" → a stage; "" is a pledge; None if unrecognised."""
    key = " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split())
    if not key:
        return Stage.PLEDGED
    return STAGE_BY_WORD.get(key)


def parse_visibility(text: str) -> Visibility | None:
    key = " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split())
    if not key:
        return DEFAULT_VISIBILITY
    return VISIBILITY_BY_WORD.get(key)


def parse_date(text: str) -> date | None:
    """The dates spreadsheets hold: ISO, US month/day/year, words, and Excel serial numbers."""
    text = " ".join(text.replace(",", ", ").split()).replace(" ,", ",").strip()
    if not text:
        return None
    if text.isdigit() and 20_000 <= int(text) <= 80_000:  # a date cell exported as a number
        return EXCEL_EPOCH + timedelta(days=int(text))
    candidate = text.split("T")[0].split(" 00:00")[0]
    try:
        return date.fromisoformat(candidate)  # most cells; strptime is slow on 10,000 rows
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(candidate, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"“{text}” is not a date we can read (use YYYY-MM-DD or MM/DD/YYYY)")


def _checked_event_date(value: date | None, what: str) -> date | None:
    """The official's form's rule for when something happened (operations.EVENT_DATES)."""
    if value is None:
        return None
    try:
        check_event_date(value, what)
    except CommitmentError as error:
        raise ValueError(str(error)[:1].lower() + str(error)[1:]) from error
    return value


@lru_cache(maxsize=65536)  # an official's address repeats on each of their rows
def _checked_email(text: str) -> str:
    if not text:
        raise ValueError("no email: officials are matched by their email address")
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"“{text}” is not a valid email address") from error
    # Kept as typed but for the domain's case: accounts are found by normalize_email, as
    # everywhere else in the app (validate_email's normal form turns "xn--" into Unicode).
    local, _, domain = text.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def _checked_link(text: str) -> str | None:
    if not text:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or any(ch.isspace() for ch in text) or len(text) > 2000:
        raise ValueError(f"the evidence link “{text[:80]}” is not a web address (http/https)")
    return text


# --- Mapping ------------------------------------------------------------------------------


def header_signature(headers: list[str]) -> str:
    """The same layout with different capitals or spacing has the same signature."""
    joined = "\x1f".join(header_key(h) for h in headers)
    return hashlib.sha256(joined.encode()).hexdigest()


def saved_mapping(headers: list[str], store=SavedMapping) -> dict[str, str | None] | None:
    """The mapping confirmed for this header layout; `store` is the table that keeps them
    (reference layers keep theirs apart: layers.models.LayerMapping)."""
    row = db.session.scalar(select(store).where(store.signature == header_signature(headers)))
    if row is None:
        return None
    mapping = json.loads(row.mapping_json)
    # A mapping only applies if every header it names is still there.
    if any(h and h not in headers for h in mapping.values()):
        return None
    return mapping


def check_mapping(mapping: dict[str, str | None], headers: list[str]) -> list[str]:
    """Problems with a mapping, in words; empty when it can be used."""
    problems = []
    if not mapping.get("email"):
        problems.append("Choose the column that holds the official's email.")
    if not mapping.get("jurisdiction") and not mapping.get("fips"):
        problems.append("Choose the column that holds the jurisdiction (or its FIPS code).")
    if not mapping.get("policy"):
        problems.append("Choose the column that holds the policy.")
    used = [h for h in mapping.values() if h]
    for header in {h for h in used if used.count(h) > 1}:
        problems.append(f"The column “{header}” is chosen for more than one field.")
    for header in used:
        if header not in headers:
            problems.append(f"The file has no column “{header}”.")
    return problems


def remember_mapping(
    headers: list[str],
    mapping: dict[str, str | None],
    store=SavedMapping,
    field_names: Sequence[str] = FIELD_NAMES,
) -> None:
    signature = header_signature(headers)
    row = db.session.scalar(select(store).where(store.signature == signature))
    text = json.dumps({k: mapping.get(k) for k in field_names}, sort_keys=True)
    if row is None:
        db.session.add(store(signature=signature, mapping_json=text))
    else:
        row.mapping_json = text
    db.session.flush()


# --- Planning -----------------------------------------------------------------------------


UNDATED_CHOICES = {
    "skip": "Skip them",
    "estimate": "Record them with the file's date, marked “date estimated”",
}


def plan_rows(
    sheet: Sheet,
    mapping: dict[str, str | None],
    choices: dict[str, str] | None = None,
    *,
    batch_date: date | None = None,
) -> Plan:
    """What importing `sheet` would do now, row by row. Reads only.

    `batch_date` is the day the file came in: the date of rows that have none, when staff
    choose to record them (`choices["undated"] == "estimate"`) rather than skip them.
    """
    choices = choices or {}
    batch_date = batch_date or today()
    columns = {f: sheet.headers.index(h) for f, h in mapping.items() if h in sheet.headers}
    jurisdictions = JurisdictionMatcher()
    policies = PolicyMatcher()
    policy_by_slug = {p.slug: p for p in policies.policies}
    values = [(number, {f: cells[i] for f, i in columns.items()}) for number, cells in sheet.rows]
    emails = {normalize_email(v.get("email", "")) for _n, v in values if v.get("email")}
    known_users = _users_by_email(emails)
    existing = _commitments_of(known_users.values())
    jurisdictions.prefetch(
        [
            (v.get("jurisdiction", ""), v.get("state", ""), v.get("fips", ""), v.get("office", ""))
            for _n, v in values
            if f"j{_n}" not in choices
        ]
    )
    planned_officials: dict[str, RowPlan] = {}
    seen_pairs: dict[tuple[str, int], int] = {}
    rows = []
    for number, row_values in values:
        plan = RowPlan(number=number, action=Action.CREATE)
        try:
            _read_values(plan, row_values, batch_date)
            _match_places_and_policies(
                plan, row_values, jurisdictions, policies, policy_by_slug, choices
            )
            if plan.undated:
                _undated(plan, choices.get("undated"), batch_date)
            if plan.action == Action.CREATE:
                _decide(plan, known_users, existing, planned_officials, seen_pairs)
        except ValueError as error:
            plan.action = Action.FAIL
            plan.reason = _sentence(str(error))
        rows.append(plan)
    return Plan(rows, policies.policies)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _undated(plan: RowPlan, choice: str | None, batch_date: date) -> None:
    """A row without any date: skipped, or recorded on the file's date, as staff chose once."""
    if choice == "estimate":
        plan.date_estimated = True
        plan.notes.append(
            f"No date: recorded with the file's date, {batch_date.isoformat()}, "
            "marked “date estimated”."
        )
        return
    if plan.action == Action.CHOOSE:
        plan.reason += " Choose too what to do with rows without a date."
    elif choice == "skip":
        plan.action = Action.SKIP
        plan.reason = "No date: rows without a date are skipped, as you chose for this file."
    else:
        plan.action = Action.CHOOSE
        plan.reason = (
            "No date: choose whether rows without a date are skipped or recorded with "
            "the file's date."
        )


def _read_values(plan: RowPlan, v: dict[str, str], batch_date: date) -> None:
    plan.jurisdiction_text = ", ".join(x for x in (v.get("jurisdiction"), v.get("state")) if x)
    plan.policy_text = v.get("policy", "")
    state = v.get("state", "")
    plan.jurisdiction_spelling = spelling_key(
        "j",
        normalize_name(v.get("jurisdiction", "")),
        parse_state(state) or normalize_name(state),
        "".join(ch for ch in v.get("fips", "") if ch.isdigit()),
    )
    plan.policy_spelling = spelling_key("p", normalize_name(plan.policy_text))
    plan.email = _checked_email(v.get("email", ""))
    plan.name = " ".join(v.get("official_name", "").split())[:120]
    plan.office = " ".join(v.get("office", "").split())[:120]
    plan.phone = " ".join(v.get("phone", "").split())[:40]
    stage = parse_stage(v.get("stage", ""))
    if stage is None:
        raise ValueError(
            f"the stage “{v['stage']}” is not one of pledged, introduced, passed, "
            "implemented, stalled or withdrawn"
        )
    plan.stage = stage
    visibility = parse_visibility(v.get("visibility", ""))
    if visibility is None:
        raise ValueError(f"the visibility “{v['visibility']}” is not public, counted or private")
    plan.visibility = visibility
    pledged_on = _checked_event_date(parse_date(v.get("pledged_on", "")), "pledge date")
    stage_on = _checked_event_date(parse_date(v.get("stage_date", "")), "stage date")
    plan.target_date = parse_date(v.get("target_date", ""))
    if pledged_on is None and stage_on is None:
        plan.undated = True
        pledged_on = stage_on = batch_date
    elif pledged_on is None:
        plan.notes.append("No pledge date: the stage date is used.")
    elif stage_on is None and stage != Stage.PLEDGED:
        plan.notes.append(f"No date for “{stage.label.lower()}”: the pledge date is used.")
    plan.pledged_on = pledged_on or stage_on
    plan.stage_on = stage_on or plan.pledged_on
    plan.evidence_url = _checked_link(v.get("evidence_url", ""))
    if plan.evidence_url and stage == Stage.PLEDGED:
        plan.evidence_url = None
        plan.notes.append("The evidence link is not imported: evidence goes with a later stage.")
    note = v.get("notes", "").strip()
    if len(note) > NOTE_MAX:
        note = note[:NOTE_MAX]
        plan.notes.append(f"The note was cut to {NOTE_MAX} characters.")
    plan.note = note or None


def _match_places_and_policies(
    plan: RowPlan,
    v: dict[str, str],
    jurisdictions: JurisdictionMatcher,
    policies: PolicyMatcher,
    policy_by_slug: dict[str, Policy],
    choices: dict[str, str],
) -> None:
    # A choice for the row itself (kept from before choices were made per spelling) first.
    chosen_key = choices.get(f"j{plan.number}") or choices.get(plan.jurisdiction_spelling)
    if chosen_key:
        plan.jurisdiction = get_by_key(chosen_key)
        if plan.jurisdiction is None:
            raise ValueError("the jurisdiction chosen for this spelling no longer exists")
    else:
        found = jurisdictions.match(
            v.get("jurisdiction", ""), v.get("state", ""), v.get("fips", ""), v.get("office", "")
        )
        plan.jurisdiction = found.value
        plan.jurisdiction_candidates = found.candidates
        if found.value is None and not found.candidates:
            raise ValueError(found.note or "no matching jurisdiction")
        if found.value is not None and found.note:
            plan.notes.append(_sentence(found.note))
    chosen_slug = choices.get(f"p{plan.number}") or choices.get(plan.policy_spelling)
    if chosen_slug:
        plan.policy = policy_by_slug.get(chosen_slug)
        if plan.policy is None:
            raise ValueError("the policy chosen for this spelling no longer exists")
    else:
        found = policies.match(v.get("policy", ""))
        plan.policy = found.value
        plan.policy_candidates = found.candidates
        if found.value is None and not found.candidates:
            raise ValueError(found.note or f"no policy in the toolkit is like “{v['policy']}”")
        if found.value is not None and found.note:
            plan.notes.append(_sentence(found.note))
    if plan.jurisdiction is None or plan.policy is None:
        plan.action = Action.CHOOSE
        missing = []
        if plan.jurisdiction is None:
            missing.append(f"which jurisdiction “{plan.jurisdiction_text}” is")
        if plan.policy is None:
            missing.append(f"which policy “{plan.policy_text}” means")
        plan.reason = _sentence("Choose " + " and ".join(missing))


def _decide(
    plan: RowPlan,
    known_users: dict[str, User],
    existing: dict[tuple[int, int], Commitment],
    planned_officials: dict[str, RowPlan],
    seen_pairs: dict[tuple[str, int], int],
) -> None:
    key = normalize_email(plan.email)
    pair = (key, plan.policy.id)
    if pair in seen_pairs:
        plan.action = Action.SKIP
        plan.reason = f"Same official and policy as row {seen_pairs[pair]}."
        return
    user = known_users.get(key)
    if user is not None:
        problem = official_problem(user, plan.jurisdiction)
        if problem:
            raise ValueError(problem)
        commitment = existing.get((user.id, plan.policy.id))
        if commitment is not None:
            seen_pairs[pair] = plan.number
            decision = decide_on_behalf(commitment, plan.reported)
            plan.action = Action.UPDATE if decision.writes else Action.SKIP
            plan.reason = decision.reason
            return
    if user is None or user.jurisdiction_id is None:
        # A new official, or one the app has no place for yet: their rows must agree.
        first = planned_officials.get(key)
        if first is None:
            if user is None and not plan.name:
                raise ValueError(f"no name for {plan.email}, who has no account yet")
            planned_officials[key] = plan
            plan.new_official = user is None
        elif first.jurisdiction.id != plan.jurisdiction.id:
            raise ValueError(
                f"row {first.number} puts {plan.email} in {first.jurisdiction.label}; "
                f"this row says {plan.jurisdiction.label}"
            )
    check_target_date(plan.target_date)  # as the official's own form does
    seen_pairs[pair] = plan.number
    plan.action = Action.CREATE
    plan.reason = decide_on_behalf(None, plan.reported).reason


def _users_by_email(emails: set[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    ordered = sorted(emails)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        stmt = (
            select(User)
            .options(joinedload(User.jurisdiction))
            .where(User.email_normalized.in_(chunk))
        )
        found.update({u.email_normalized: u for u in db.session.scalars(stmt)})
    return found


def _commitments_of(users) -> dict[tuple[int, int], Commitment]:
    ids = sorted(u.id for u in users)
    found: dict[tuple[int, int], Commitment] = {}
    for start in range(0, len(ids), 500):
        stmt = select(Commitment).where(Commitment.official_id.in_(ids[start : start + 500]))
        found.update({(c.official_id, c.policy_id): c for c in db.session.scalars(stmt)})
    return found


# --- Applying -----------------------------------------------------------------------------


def sheet_of(batch: ImportBatch) -> Sheet:
    if not batch.sheet_json:
        raise ImportRefused("This import has no rows left to read.")
    data = json.loads(batch.sheet_json)
    return Sheet(data["headers"], [(n, cells) for n, cells in data["rows"]])


def batch_day(batch: ImportBatch) -> date:
    """The day a file came in: the date given to its undated rows, if staff choose so."""
    return batch.created_at.date() if batch.created_at else today()


def store_sheet(batch: ImportBatch, sheet: Sheet) -> None:
    batch.sheet_json = json.dumps(
        {"headers": sheet.headers, "rows": sheet.rows}, ensure_ascii=False, separators=(",", ":")
    )


WRITE_CHUNK = 500


def apply_plan(batch: ImportBatch, actor: User | None) -> Plan:
    """Write the create and update rows of a fresh plan; flushes, the caller commits.

    Rows are written in chunks of `WRITE_CHUNK`: objects are built unflushed, flushed
    together (one batched INSERT per table), then audited now that they have ids.
    """
    sheet = sheet_of(batch) if batch.status == ImportStatus.PENDING else None
    if sheet is not None and check_mapping(batch.mapping, sheet.headers):
        raise ImportRefused("Finish the column mapping before importing.")
    # One conditional UPDATE: of two clicks (or two staff) importing at once, the second
    # waits for the first's transaction and then finds the batch no longer pending.
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.PENDING)
        .values(status=ImportStatus.APPLIED, applied_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if sheet is None or claimed != 1:
        raise ImportRefused("This file has already been imported or was cancelled.")
    plan = plan_rows(sheet, batch.mapping, batch.choices, batch_date=batch_day(batch))
    source = Source(import_batch_id=batch.id)
    writes = [row for row in plan.rows if row.action in (Action.CREATE, Action.UPDATE)]
    officials: dict[str, User] = _users_by_email({normalize_email(row.email) for row in writes})
    existing = _commitments_of(officials.values())
    for start in range(0, len(writes), WRITE_CHUNK):
        audits: list[tuple[str, object, str, dict]] = []
        with db.session.no_autoflush:
            for row in writes[start : start + WRITE_CHUNK]:
                try:
                    _write_row(row, officials, existing, actor, source, audits)
                except (AccountError, CommitmentError) as error:  # planned; a safeguard
                    raise ImportRefused(f"Row {row.number}: {error}") from error
        db.session.flush()
        record_many(actor, audits)
    db.session.refresh(batch, ["status", "applied_at"])
    batch.summary_json = json.dumps(report_of(plan), ensure_ascii=False)
    batch.sheet_json = None  # the rows now live in the records they made
    record(
        actor,
        "import.applied",
        batch,
        f"Imported {batch.filename}: {plan.counts[Action.CREATE]} created, "
        f"{plan.counts[Action.UPDATE]} updated, {plan.counts[Action.SKIP]} already present",
    )
    db.session.flush()
    return plan


def _write_row(
    row: RowPlan,
    officials: dict[str, User],
    existing: dict[tuple[int, int], Commitment],
    actor: User | None,
    source: Source,
    audits: list,
) -> None:
    official = official_for(
        email=row.email,
        name=row.name,
        jurisdiction=row.jurisdiction,
        origin=AccountOrigin.IMPORT,
        actor=actor,
        office_title=row.office,
        phone=row.phone,
        known=officials,
        audits=audits,
    )
    record_on_behalf(
        official,
        row.policy,
        row.reported,
        recorded_by=actor,
        source=source,
        existing=existing.get((official.id, row.policy.id)),
        audits=audits,
    )


def report_of(plan: Plan) -> dict:
    """What is kept of a plan once applied: counts, and every row that was not written."""
    return {
        "counts": {action.value: n for action, n in plan.counts.items()},
        "new_officials": plan.new_officials,
        "rows": [
            {"row": r.number, "action": r.action.value, "reason": r.reason, "email": r.email}
            for r in plan.rows
            if r.action in (Action.FAIL, Action.CHOOSE, Action.SKIP)
        ],
    }
