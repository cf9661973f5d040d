"""A synthetic but plausible campaign, for demos and benchmarks.

Officials are spread over real gazetteer jurisdictions (more in populous places), commit to
a few policies each, and move along the stages with dated timelines. Officials in states that
preempt local immigration policy hide more of their commitments, as real ones would. Rows are
written with bulk inserts so a national-size campaign takes seconds, not minutes.
"""

from __future__ import annotations

import math
import random
import secrets
from datetime import date, timedelta

from sqlalchemy import exists, insert, select, update

from campaign.accounts.models import AccountOrigin, SecondFactor, User
from campaign.accounts.roles import Role
from campaign.catalog.models import Policy
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.stages import MAIN_LINE, Stage
from campaign.extensions import db
from campaign.figures import revision
from campaign.places.models import Jurisdiction, JurisdictionKind
from campaign.security import hash_password
from campaign.timeutil import today, utcnow

CAMPAIGN_START = date(2026, 1, 15)
PREEMPTING_STATES = {"TX", "FL", "TN", "GA", "IA", "IN", "OK", "SC", "MO", "MT", "WV", "AL"}
FIRST_NAMES = (
    "Maria", "Jose", "Aisha", "Daniel", "Grace", "Luis", "Mei", "Samuel", "Fatima", "Kevin",
    "Rosa", "Tariq", "Hannah", "Andre", "Priya", "Miguel", "Keisha", "Tomas", "Leila", "Ahmed",
    "Sofia", "Marcus", "Ngozi", "Diego", "Claire", "Omar", "Yesenia", "Jamal", "Erin",
    "Hector", "Linh", "Beatriz", "Dmitri", "Amara", "Noah", "Carmen", "Isaiah", "Ruth",
    "Javier", "Naomi",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Johnson", "Nguyen", "Okafor", "Martinez", "Smith", "Patel", "Hernandez", "Kim",
    "Williams", "Lopez", "Brown", "Rodriguez", "Davis", "Chen", "Jackson", "Gonzalez",
    "Wilson", "Rivera", "Moore", "Haddad", "Thompson", "Ramirez", "White", "Flores", "Lee",
    "Sanchez", "Harris", "Torres", "Clark", "Ortiz", "Lewis", "Cruz", "Walker", "Reyes",
    "Hall", "Morales", "Young",
)  # fmt: skip
OFFICES = {
    JurisdictionKind.PLACE: ("City Councilmember", "Mayor", "Town Board Member", "Alderperson"),
    JurisdictionKind.COUNTY: ("County Commissioner", "County Supervisor", "County Legislator"),
    JurisdictionKind.SCHOOL_DISTRICT: ("School Board Member", "School Board Trustee"),
    JurisdictionKind.STATE: ("State Representative",),
    JurisdictionKind.OTHER: ("Board Member",),
}
STAGE_WEIGHTS = {
    Stage.PLEDGED: 40,
    Stage.INTRODUCED: 22,
    Stage.PASSED: 14,
    Stage.IMPLEMENTED: 10,
    Stage.STALLED: 9,
    Stage.WITHDRAWN: 5,
}
EVIDENCE_HOSTS = ("legistar.example.org", "agenda.example.gov", "news.example.com")


class DemoError(RuntimeError):
    pass


def has_commitments() -> bool:
    return bool(db.session.scalar(select(exists().where(Commitment.id.isnot(None)))))


def generate_demo_campaign(*, jurisdictions: int, commitments: int, seed: int = 2026) -> dict:
    """Create officials, commitments and timelines; returns what was made."""
    if jurisdictions < 1 or commitments < 0:
        raise DemoError("--jurisdictions must be at least 1 and --commitments at least 0.")
    rng = random.Random(seed)
    policies = list(db.session.scalars(select(Policy).order_by(Policy.id)))
    if not policies:
        raise DemoError("The policy catalog is empty: run `flask --app wsgi seed` first.")
    chosen = _choose_jurisdictions(rng, jurisdictions)
    per_official = 3
    official_count = max(len(chosen), math.ceil(commitments / per_official))
    officials = _create_officials(rng, chosen, official_count)

    now = today()
    span = max((now - CAMPAIGN_START).days, 1)
    commitment_rows: list[dict] = []
    histories: list[list[tuple[Stage, date]]] = []
    slots = [(o, p) for o in officials for p in rng.sample(policies, min(len(policies), 5))]
    rng.shuffle(slots)
    for (official_id, jurisdiction_id, state), policy in slots[:commitments]:
        history = _history(rng, CAMPAIGN_START + timedelta(days=rng.randrange(span)), now)
        final_stage, final_date = history[-1]
        commitment_rows.append(
            {
                "official_id": official_id,
                "policy_id": policy.id,
                "jurisdiction_id": jurisdiction_id,
                "visibility": _visibility(rng, state),
                "stage": final_stage,
                "furthest_stage": max(
                    (s for s, _ in history if s.on_main_line), key=lambda s: s.rank
                ),
                "pledged_on": history[0][1],
                "stage_changed_on": final_date,
                "target_date": final_date + timedelta(days=rng.choice((90, 180, 365)))
                if rng.random() < 0.5
                else None,
                "note": None,
                "created_at": utcnow(),
                "updated_at": utcnow(),
                "version": 1,
            }
        )
        histories.append(history)

    timeline_rows: list[dict] = []
    for start in range(0, len(commitment_rows), 5000):
        batch = commitment_rows[start : start + 5000]
        ids = db.session.scalars(
            insert(Commitment).returning(Commitment.id, sort_by_parameter_order=True), batch
        ).all()
        for commitment_id, row, history in zip(
            ids, batch, histories[start : start + 5000], strict=True
        ):
            for stage, when in history:
                timeline_rows.append(
                    {
                        "commitment_id": commitment_id,
                        "stage": stage,
                        "occurred_on": when,
                        "evidence_url": _evidence(rng, stage),
                        "note": None,
                        "recorded_by_id": row["official_id"],
                        "recorded_at": utcnow(),
                    }
                )
    for start in range(0, len(timeline_rows), 10000):
        db.session.execute(insert(TimelineEntry), timeline_rows[start : start + 10000])
    revision.bump()
    db.session.flush()
    return {
        "officials": len(officials),
        "jurisdictions": len(chosen),
        "commitments": len(commitment_rows),
        "timeline_entries": len(timeline_rows),
    }


def _choose_jurisdictions(rng: random.Random, count: int) -> list[Jurisdiction]:
    """Mostly cities and towns, weighted towards larger ones; some counties."""
    places = db.session.execute(
        select(Jurisdiction.id, Jurisdiction.population).where(
            Jurisdiction.kind == JurisdictionKind.PLACE
        )
    ).all()
    counties = db.session.scalars(
        select(Jurisdiction.id).where(Jurisdiction.kind == JurisdictionKind.COUNTY)
    ).all()
    if not places and not counties:
        raise DemoError("The gazetteer is empty: run `flask --app wsgi seed` first.")
    county_share = min(len(counties), count // 6)
    place_share = min(len(places), count - county_share)
    weights = [math.sqrt(pop or 500) for _id, pop in places]
    picked: set[int] = set()
    # Weighted sampling without replacement by repeated draws; cheap at these sizes.
    while len(picked) < place_share:
        for jid, _pop in rng.choices(places, weights=weights, k=place_share - len(picked)):
            picked.add(jid)
    picked.update(rng.sample(list(counties), county_share))
    chosen = list(
        db.session.scalars(select(Jurisdiction).where(Jurisdiction.id.in_(sorted(picked))))
    )
    rng.shuffle(chosen)
    return chosen


def _create_officials(
    rng: random.Random, jurisdictions: list[Jurisdiction], count: int
) -> list[tuple[int, int, str]]:
    """Officials without passwords (they cannot sign in); returns (id, jurisdiction, state)."""
    batch = secrets.token_hex(3)
    now = utcnow()
    rows = []
    homes = []
    for n in range(count):
        jurisdiction = jurisdictions[n % len(jurisdictions)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{batch}{n}@example.org".lower()
        rows.append(
            {
                "email": email,
                "email_normalized": email,
                "name": f"{first} {last}",
                "password_hash": None,
                "role": Role.OFFICIAL,
                "office_title": rng.choice(OFFICES[jurisdiction.kind]),
                "jurisdiction_id": jurisdiction.id,
                "active": True,
                "created_at": now,
                "origin": AccountOrigin.STAFF,
                "email_confirmed_at": now,
                "verified_at": now,
            }
        )
        homes.append((jurisdiction.id, jurisdiction.state))
    ids: list[int] = []
    for start in range(0, len(rows), 5000):
        ids += db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            rows[start : start + 5000],
        ).all()
    return [(uid, jid, state) for uid, (jid, state) in zip(ids, homes, strict=True)]


def _history(rng: random.Random, pledged_on: date, now: date) -> list[tuple[Stage, date]]:
    """Dated stage changes ending at a stage drawn from STAGE_WEIGHTS."""
    final = rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()))[0]
    history = [(Stage.PLEDGED, pledged_on)]
    when = pledged_on
    target_rank = final.rank if final.on_main_line else rng.randrange(0, 3)
    for stage in MAIN_LINE[1 : target_rank + 1]:
        when = min(now, when + timedelta(days=rng.randint(7, 60)))
        history.append((stage, when))
    if not final.on_main_line:
        when = min(now, when + timedelta(days=rng.randint(14, 90)))
        history.append((final, when))
    return history


def _visibility(rng: random.Random, state: str) -> Visibility:
    weights = (45, 35, 20) if state in PREEMPTING_STATES else (80, 14, 6)
    return rng.choices(list(Visibility), weights=weights)[0]


def _evidence(rng: random.Random, stage: Stage) -> str | None:
    if stage in (Stage.INTRODUCED, Stage.PASSED, Stage.IMPLEMENTED) and rng.random() < 0.6:
        return f"https://{rng.choice(EVIDENCE_HOSTS)}/item/{rng.randint(1000, 99999)}"
    return None


def add_load_test_accounts(
    *,
    officials: int,
    organizers: int,
    staff: int,
    password: str,
    second_factor_secret: str | None = None,
) -> dict[str, list[str]]:
    """Accounts a load test signs in with; returns their emails by role.

    The demo officials have no password, so the first `officials` of them that own a
    commitment get a predictable email and `password` (hashed once: the cost is argon2's,
    and every account shares it). Organizers and staff are new accounts. With
    `second_factor_secret` (base32) the staff accounts have that authenticator key, so a
    load test signs them in as production requires (REQUIRE_STAFF_SECOND_FACTOR) instead of
    landing on the enrolment page. Calling it again on the same campaign raises DemoError
    rather than making duplicates.
    """
    if has_load_test_accounts():
        raise DemoError("This campaign already has load-test accounts.")
    password_hash = hash_password(password)
    owners = db.session.scalars(
        select(Commitment.official_id)
        .group_by(Commitment.official_id)
        .order_by(Commitment.official_id)
        .limit(officials)
    ).all()
    if len(owners) < officials:
        raise DemoError(f"Only {len(owners)} officials own a commitment; {officials} asked for.")
    emails: dict[str, list[str]] = {"official": [], "organizer": [], "staff": []}
    for n, official_id in enumerate(owners):
        email = f"load-official-{n}@example.org"
        db.session.execute(
            update(User)
            .where(User.id == official_id)
            .values(email=email, email_normalized=email, password_hash=password_hash)
        )
        emails["official"].append(email)
    rows = []
    now = utcnow()
    for role, count in ((Role.ORGANIZER, organizers), (Role.STAFF, staff)):
        for n in range(count):
            email = f"load-{role.value}-{n}@example.org"
            rows.append(
                {
                    "email": email,
                    "email_normalized": email,
                    "name": f"Load {role.label} {n}",
                    "password_hash": password_hash,
                    "role": role,
                    "active": True,
                    "created_at": now,
                    "origin": AccountOrigin.STAFF,
                    "email_confirmed_at": now,
                    "verified_at": now,
                }
            )
            emails[role.value].append(email)
    if rows:
        db.session.execute(insert(User), rows)
    if second_factor_secret and emails["staff"]:
        staff_ids = db.session.scalars(
            select(User.id).where(User.email_normalized.in_(emails["staff"]))
        ).all()
        db.session.execute(
            insert(SecondFactor),
            [{"user_id": user_id, "secret": second_factor_secret} for user_id in staff_ids],
        )
    revision.bump()
    db.session.flush()
    return emails


def has_load_test_accounts() -> bool:
    return bool(
        db.session.scalar(select(exists().where(User.email_normalized.like("load-%@example.org"))))
    )
