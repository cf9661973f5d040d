"""Priorities group policies; a policy is what an official commits to advance."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.figures.revision import affects_figures


class Priority(db.Model):
    __tablename__ = "priority"
    __table_args__ = affects_figures()  # catalog edits rename or remove what pages show

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    policies: Mapped[list[Policy]] = relationship(
        back_populates="priority", order_by="Policy.position"
    )


class Policy(db.Model):
    __tablename__ = "policy"
    __table_args__ = affects_figures()  # catalog edits rename or remove what pages show

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    priority_id: Mapped[int] = mapped_column(ForeignKey("priority.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    short_title: Mapped[str] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(Text, default="")
    # The toolkit's ✓: suited to hostile or heavily preempting states.
    hostile_state_friendly: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    priority: Mapped[Priority] = relationship(back_populates="policies")
    resources: Mapped[list[PolicyResource]] = relationship(
        back_populates="policy", order_by="PolicyResource.position", cascade="all, delete-orphan"
    )


class PolicyResource(db.Model):
    """A link that helps an official act: model ordinance, implementation or messaging guide."""

    __tablename__ = "policy_resource"
    __table_args__ = affects_figures()  # catalog edits rename or remove what pages show

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    url: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)

    policy: Mapped[Policy] = relationship(back_populates="resources")
