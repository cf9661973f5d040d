"""The public pages: the toolkit on the home page and a page per policy."""

import pytest

from campaign.accounts.roles import Role
from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage


def test_home_page_explains_the_campaign_and_lists_six_priorities_and_eleven_policies(
    client, catalog
):
    html = client.get("/").get_data(as_text=True)
    assert "<h1>Commit to protect your community</h1>" in html
    for title in (
        "No Data for Secret Police",
        "No Collaboration with Secret Police",
        "No Public Funds for Secret Police",
        "No Public Space for Secret Police",
        "No Secret Police in Our Schools",
        "No Impunity for Secret Police",
    ):
        assert title in html
    assert html.count('class="policy-card"') == 11
    assert "Cancel Automated License Plate Reader (ALPR) contracts" in html


def test_home_page_marks_the_seven_policies_the_toolkit_flags_for_hostile_states(client, catalog):
    html = client.get("/").get_data(as_text=True)
    assert html.count('<span class="visually-hidden">Useful in hostile or preempting') == 7
    flagged = {p.slug for p in catalog if p.hostile_state_friendly}
    assert "end-287g-and-task-forces" not in flagged
    assert "cancel-alpr-contracts" in flagged


def test_home_page_counts_jurisdictions_but_not_private_or_withdrawn_commitments(
    client, catalog, make
):
    alpr = catalog[0]
    town = make.jurisdiction("Duluth", "MN", key="duluth")
    make.commitment(make.user(jurisdiction=town), alpr, visibility=Visibility.PUBLIC)
    # A second official of the same town does not count the town twice.
    make.commitment(make.user(jurisdiction=town), alpr, visibility=Visibility.COUNTED)
    make.commitment(make.user(), alpr, visibility=Visibility.COUNTED)
    make.commitment(make.user(), alpr, visibility=Visibility.PRIVATE)
    make.commitment(make.user(), alpr, stage=Stage.WITHDRAWN)
    html = client.get("/").get_data(as_text=True)
    assert "<strong>2</strong> jurisdictions have committed" in html


def test_policy_page_names_public_commitments_and_only_counts_unnamed_ones(client, catalog, make):
    policy = catalog[1]
    public = make.user(name="Rosa Public", jurisdiction=make.jurisdiction("Ithaca", "NY"))
    counted = make.user(name="Hidden Counted", jurisdiction=make.jurisdiction("Secretville", "TX"))
    private = make.user(name="Private Person", jurisdiction=make.jurisdiction("Quietburg", "FL"))
    make.commitment(public, policy, stage=Stage.PASSED)
    make.commitment(counted, policy, visibility=Visibility.COUNTED)
    make.commitment(private, policy, visibility=Visibility.PRIVATE)

    html = client.get(f"/policies/{policy.slug}").get_data(as_text=True)
    assert "Rosa Public" in html and "Ithaca, NY" in html
    assert "Hidden Counted" not in html and "Secretville" not in html
    assert "Private Person" not in html and "Quietburg" not in html
    assert "1 more jurisdiction not named" in html
    assert '<th scope="row">Passed</th><td>1</td>' in html
    assert '<th scope="row">Pledged</th><td>1</td>' in html


@pytest.mark.parametrize(
    "path", ["/policies/a%00b", "/policies/a%00b/edit", "/policies/Cancel-ALPR", "/policies/-x"]
)
def test_a_policy_address_that_is_no_slug_is_a_404(client, auth, make, catalog, path):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    assert client.get(path).status_code == 404
    assert client.post(path, data={"summary": "x"}).status_code in (404, 405)


def test_unknown_policy_is_a_friendly_404(client, catalog):
    response = client.get("/policies/no-such-policy")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_a_hidden_officials_progress_never_shows_against_a_named_town(client, catalog, make):
    policy = catalog[0]
    town = make.jurisdiction("Sharedtown", "MN", key="shared")
    make.commitment(make.user(name="Alice Public", jurisdiction=town), policy)
    make.commitment(
        make.user(name="Bob Hidden", jurisdiction=town),
        policy,
        visibility=Visibility.COUNTED,
        stage=Stage.IMPLEMENTED,
    )
    html = client.get(f"/policies/{policy.slug}").get_data(as_text=True)
    implemented = html[html.index('id="stage-implemented"') : html.index('id="stage-pledged"')]
    assert "Sharedtown" not in implemented
    assert "1 more jurisdiction not named" in implemented
    pledged = html[html.index('id="stage-pledged"') :]
    assert "Sharedtown" in pledged and "Alice Public" in pledged and "Bob Hidden" not in html
