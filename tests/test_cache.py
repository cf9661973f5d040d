"""Cached figures: which writes make them stale, and what a reader is served meanwhile."""

from campaign import revision
from campaign.accounts.roles import Role
from campaign.extensions import db


def test_signing_in_keeps_cached_figures_but_renaming_an_official_does_not(
    client, auth, make, catalog
):
    official = make.user(name="Ana Díaz", email="ana@example.org")
    make.commitment(official, catalog[0])
    make.user(Role.ORGANIZER, email="org@example.org")
    before = revision.current()

    auth.login("org@example.org")
    auth.login("ana@example.org")
    assert revision.current() == before

    official.name = "Ana Díaz-Ortiz"
    db.session.commit()
    assert revision.current() == before + 1
