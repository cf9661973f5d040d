"""A jurisdiction: a state, county, place, school district or other local body."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db, db_enum
from campaign.figures.revision import affects_figures
from campaign.timeutil import utcnow


class JurisdictionKind(enum.StrEnum):
    STATE = "state"
    COUNTY = "county"
    PLACE = "place"
    SCHOOL_DISTRICT = "school_district"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "state": "State",
            "county": "County",
            "place": "City or town",
            "school_district": "School district",
            "other": "Other local body",
        }[self.value]


ENTERED_KEY_PREFIX = "u"  # keys of bodies entered by an official


class Jurisdiction(db.Model):
    __tablename__ = "jurisdiction"
    __table_args__ = affects_figures(new_rows="add")  # a new place adds; an edit may hide

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Natural key: state FIPS ("27"), county FIPS ("27123"), GeoNames id for places
    # ("gn5045360"), "u…" for bodies entered by an official.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[JurisdictionKind] = mapped_column(
        db_enum(JurisdictionKind, "kind"),
        index=True,
    )
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(2), index=True)
    county_key: Mapped[str | None] = mapped_column(String(5), index=True)
    # For a school district or other body: the place it sits in or near.
    near_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    population: Mapped[int | None] = mapped_column(Integer)
    # Normalised name for search: see places.matching.normalize_name.
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    # Gazetteer rows are confirmed; bodies entered by hand wait for staff to confirm them.
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    near: Mapped[Jurisdiction | None] = relationship(remote_side=[id])

    @classmethod
    def searchable(cls):
        """Rows the public search lists: the confirmed gazetteer, never a body an official
        typed in, even once staff confirm it. Listing "Hushed Unified School District" would
        tell anyone that someone from it signed up; a second member who types its name is
        matched to the same row (places/operations.add_local_body).
        """
        return and_(cls.confirmed, ~cls.key.startswith(ENTERED_KEY_PREFIX))

    @property
    def label(self) -> str:
        """The name people recognise, unambiguous within the country."""
        if self.kind == JurisdictionKind.STATE:
            return self.name
        return f"{self.name}, {self.state}"

    def __repr__(self) -> str:
        return f"<Jurisdiction {self.key} {self.label}>"
