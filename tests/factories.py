"""One-line factories for the records tests need: users, jurisdictions, commitments."""

from __future__ import annotations

import itertools
from datetime import date

from campaign.accounts.models import AccountOrigin, User, normalize_email
from campaign.accounts.roles import Role
from campaign.catalog.models import Policy
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.operations import advance
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.followup.models import ContactKind, ContactLogEntry
from campaign.help.models import HelpMessage, HelpRequest, HelpStatus, HelpTopic
from campaign.places.matching import normalize_name
from campaign.places.models import Jurisdiction, JurisdictionKind
from campaign.security import hash_password
from campaign.timeutil import utcnow

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


class Factories:
    def jurisdiction(
        self,
        name: str = "Saint Paul",
        state: str = "MN",
        kind: JurisdictionKind = JurisdictionKind.PLACE,
        *,
        key: str | None = None,
        county_key: str | None = None,
        population: int | None = None,
        latitude: float | None = 44.94,
        longitude: float | None = -93.09,
        confirmed: bool = True,
    ) -> Jurisdiction:
        row = Jurisdiction(
            key=key or f"t{next(_sequence)}",
            kind=kind,
            name=name,
            state=state,
            county_key=county_key,
            population=population,
            latitude=latitude,
            longitude=longitude,
            search_name=normalize_name(name),
            confirmed=confirmed,
        )
        db.session.add(row)
        db.session.commit()
        return row

    def user(
        self,
        role: Role = Role.OFFICIAL,
        *,
        name: str | None = None,
        email: str | None = None,
        jurisdiction: Jurisdiction | None = None,
        password: str = PASSWORD,
        office_title: str | None = "City Councilmember",
        unverified: bool = False,
    ) -> User:
        n = next(_sequence)
        email = email or f"user{n}@example.org"
        if role == Role.OFFICIAL and jurisdiction is None:
            jurisdiction = self.jurisdiction(name=f"Town {n}", key=f"town{n}")
        user = User(
            email=email,
            email_normalized=normalize_email(email),
            name=name or f"Person {n}",
            password_hash=hash_password(password),
            role=role,
            office_title=office_title if role == Role.OFFICIAL else None,
            jurisdiction=jurisdiction,
            origin=AccountOrigin.STAFF,
            email_confirmed_at=utcnow(),
            verified_at=None if unverified else utcnow(),
        )
        db.session.add(user)
        db.session.commit()
        return user

    def commitment(
        self,
        official: User,
        policy: Policy,
        *,
        visibility: Visibility = Visibility.PUBLIC,
        stage: Stage = Stage.PLEDGED,
        pledged_on: date = date(2026, 2, 1),
    ) -> Commitment:
        """Pledged on `pledged_on`, then moved to `stage` that day by the app's own rules."""
        commitment = Commitment(
            official=official,
            policy=policy,
            jurisdiction_id=official.jurisdiction_id,
            visibility=visibility,
            stage=Stage.PLEDGED,
            furthest_stage=Stage.PLEDGED,
            pledged_on=pledged_on,
            stage_changed_on=pledged_on,
        )
        db.session.add(commitment)
        commitment.timeline.add(
            TimelineEntry(stage=Stage.PLEDGED, occurred_on=pledged_on, recorded_by=official)
        )
        if stage != Stage.PLEDGED:
            advance(commitment, stage=stage, occurred_on=pledged_on, recorded_by=official)
        db.session.commit()
        return commitment

    def progress(
        self,
        commitment: Commitment,
        stage: Stage,
        *,
        occurred_on: date,
        evidence_url: str | None = None,
        note: str | None = None,
    ) -> TimelineEntry:
        """A timeline entry the official recorded, moving the commitment to `stage` by the
        app's own rules (`advance`, as the progress form does)."""
        entry = advance(
            commitment,
            stage=stage,
            occurred_on=occurred_on,
            recorded_by=commitment.official,
            evidence_url=evidence_url,
            note=note,
        )
        db.session.commit()
        return entry

    def help_request(
        self, commitment: Commitment, body: str = "Can someone help?", *, topic=HelpTopic.OTHER
    ) -> HelpRequest:
        """An official's open request for help on their own commitment."""
        request = HelpRequest(
            commitment=commitment,
            official=commitment.official,
            topic=topic,
            status=HelpStatus.WAITING_FOR_STAFF,
            messages=[HelpMessage(author=commitment.official, body=body)],
        )
        db.session.add(request)
        db.session.commit()
        return request

    def contact(
        self,
        official: User,
        staff: User,
        *,
        note: str = "",
        commitment: Commitment | None = None,
        contacted_on: date = date(2026, 2, 2),
    ) -> ContactLogEntry:
        """A staff member's contact-log entry about an official (or one commitment)."""
        entry = ContactLogEntry(
            official=official,
            commitment_id=commitment.id if commitment else None,
            staff=staff,
            kind=ContactKind.CALL,
            contacted_on=contacted_on,
            note=note,
        )
        db.session.add(entry)
        db.session.commit()
        return entry
