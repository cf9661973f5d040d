"""The life of a commitment: which stages exist and which moves between them make sense.

The main line is pledged → introduced → passed → implemented; a commitment may also stall
(and later resume) or be withdrawn (and later renewed as a fresh pledge). Skipping ahead is
allowed because officials often report late ("it passed last week"); going backwards on the
main line is not, because a timeline entry records something that happened.
"""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    PLEDGED = "pledged"
    INTRODUCED = "introduced"
    PASSED = "passed"
    IMPLEMENTED = "implemented"
    STALLED = "stalled"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def on_main_line(self) -> bool:
        return self in MAIN_LINE

    @property
    def rank(self) -> int:
        """Position on the main line; stalled and withdrawn have none (-1)."""
        return MAIN_LINE.index(self) if self in MAIN_LINE else -1


MAIN_LINE: tuple[Stage, ...] = (
    Stage.PLEDGED,
    Stage.INTRODUCED,
    Stage.PASSED,
    Stage.IMPLEMENTED,
)

# Every stage but withdrawn: what counts as a commitment in figures, queues and lists.
LIVE_STAGES: tuple[Stage, ...] = tuple(s for s in Stage if s != Stage.WITHDRAWN)

# Still being worked on: neither in force nor given up (reminders, staleness, the queue).
OPEN_STAGES: tuple[Stage, ...] = (Stage.PLEDGED, Stage.INTRODUCED, Stage.PASSED, Stage.STALLED)

DESCRIPTIONS = {
    Stage.PLEDGED: "You have committed to advance this policy.",
    Stage.INTRODUCED: "A measure has been introduced, filed or placed on an agenda.",
    Stage.PASSED: "The body has voted it through.",
    Stage.IMPLEMENTED: "It is in force: contracts ended, rules changed, protocols in use.",
    Stage.STALLED: "Progress has stopped for now.",
    Stage.WITHDRAWN: "You are no longer pursuing it.",
}


def next_stages(current: Stage, furthest: Stage) -> list[Stage]:
    """The stages a commitment may move to from `current`.

    `furthest` is the furthest main-line stage it ever reached, so a stalled commitment
    resumes at or beyond where it stopped.
    """
    if current == Stage.WITHDRAWN:
        return [Stage.PLEDGED]
    floor = furthest.rank if current == Stage.STALLED else current.rank + 1
    if current == Stage.STALLED:
        floor = max(floor, 1)
    forward = [s for s in MAIN_LINE if s.rank >= floor]
    extras = [Stage.WITHDRAWN] if current == Stage.STALLED else [Stage.STALLED, Stage.WITHDRAWN]
    if current == Stage.IMPLEMENTED:
        extras = [Stage.WITHDRAWN]
    return forward + extras


class StageTransitionError(ValueError):
    """A move the stage rules do not allow."""


def can_move(current: Stage, furthest: Stage, target: Stage) -> bool:
    """Whether the stage rules allow this move (the form's choices, `advance`, imports)."""
    return target in next_stages(current, furthest)


def check_transition(current: Stage, furthest: Stage, target: Stage) -> None:
    if not can_move(current, furthest, target):
        allowed = ", ".join(s.label.lower() for s in next_stages(current, furthest))
        raise StageTransitionError(
            f"A commitment that is {current.label.lower()} can move to: {allowed}."
        )
