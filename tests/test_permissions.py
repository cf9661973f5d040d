"""Ids out of the databases' range are a 404, never a 500 (access rules: test_access_matrix)."""

import pytest


@pytest.mark.parametrize(
    "path",
    [
        "/commitments/99999999999999999999",
        "/commitments/0",
        "/commitments/recorded?ids=1,99999999999999999999",
        "/map/jurisdictions/%00x.json",
    ],
)
def test_out_of_range_ids_are_404_not_500(client, auth, make, path):
    make.user(email="a@example.org")
    auth.login("a@example.org")
    assert client.get(path).status_code == 404
