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


def test_home_page_counts_named_jurisdictions_and_unnamed_ones_only_when_many(
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
    # One town with only an unnamed commitment: counting it would point at its official.
    assert "<strong>1</strong> jurisdiction has committed" in html

    for _ in range(3):  # now four towns have only unnamed commitments: K + 1 with K = 3
        make.commitment(make.user(), alpr, visibility=Visibility.COUNTED)
    html = client.get("/").get_data(as_text=True)
    assert "<strong>5</strong> jurisdictions have committed" in html


def test_policy_page_names_public_commitments_and_says_nothing_of_a_few_unnamed_ones(
    client, catalog, make
):
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
    assert 'id="not-named"' not in html
    assert '<th scope="row">Passed</th><td>1</td>' in html
    assert '<th scope="row">Pledged</th><td>0</td>' in html


def test_policy_page_counts_many_unnamed_jurisdictions_nationally_without_a_stage(
    client, catalog, make
):
    policy = catalog[1]
    make.commitment(make.user(name="Rosa Public"), policy, stage=Stage.PASSED)
    for _n in range(4):
        make.commitment(make.user(), policy, visibility=Visibility.COUNTED, stage=Stage.IMPLEMENTED)
    html = client.get(f"/policies/{policy.slug}").get_data(as_text=True)
    assert "4 more jurisdictions have committed nationally without being named" in html
    assert '<th scope="row">Implemented</th><td>0</td>' in html
    assert '<th scope="row">Not named (stage not shown)</th><td>4</td>' in html


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


def test_an_unnamed_commitment_in_a_named_town_is_not_pinned_to_it(client, catalog, make):
    """Sharedtown has Alice (public) and Bob (counted) for one policy; Elsewhere has Eve.

    Neither the home page's count, nor the policy page's list, nor any "more not named"
    line may differ from what Alice and Eve alone would give: else Bob is in a named town.
    """
    policy = catalog[0]
    town = make.jurisdiction("Sharedtown", "MN", key="shared")
    make.commitment(make.user(name="Alice Public", jurisdiction=town), policy)
    make.commitment(
        make.user(name="Eve Public", jurisdiction=make.jurisdiction("Elsewhere", "MN")), policy
    )

    def pages() -> tuple[str, str]:
        home = client.get("/").get_data(as_text=True)
        card = home[home.index(f"/policies/{policy.slug}") :]
        page = client.get(f"/policies/{policy.slug}").get_data(as_text=True)
        return card[: card.index("committed</p>") + 9], page[page.index("<h2>Where") :]

    before = pages()
    make.commitment(
        make.user(name="Bob Hidden", jurisdiction=town),
        policy,
        visibility=Visibility.COUNTED,
        stage=Stage.IMPLEMENTED,
    )
    after = pages()
    assert after == before
    assert "<strong>2</strong> jurisdictions have committed" in after[0]
    assert "Bob Hidden" not in after[1] and 'id="not-named"' not in after[1]
    assert "Sharedtown" in after[1] and "Alice Public" in after[1]
