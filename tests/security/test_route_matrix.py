"""The IDOR matrix (routes.py) walked as every role: each answer as the table says, and a
refused request (or any GET) writes nothing. The table must name every route the app has.

Who is the attendee? Attendees register and pay without an account; what they hold are links
with tokens (their order's checkout link, their personal room link), which work for whoever has
them, signed in or not, so those rows give every column the same answer and a tampered token is
tested on its own here. The attendee column is therefore a signed-in `member` of A who also
bought a seat in A's course: the lowest role of the organisation that owns everything, so the
column shows that belonging to A is not enough, the role must allow it too. What other
organisations get is shown by B's host and B's administrator.
"""

from dataclasses import replace

import pytest

from tests.security.routes import MATRIX, REFUSALS, ROLES, arguments_of, rows_of_the_app, url_map, url_values

URLS_WITH_A_PAGE = {rule.rule for rule in url_map().iter_rules() if "GET" in rule.methods}
POST_ONLY = [row for row in MATRIX
             if not URLS_WITH_A_PAGE & {rule.rule for rule in url_map().iter_rules(row.endpoint)}]
WITH_TOKEN = [row for row in MATRIX if "token" in arguments_of(row)]


def test_the_matrix_names_every_route_and_method_of_the_app():
    in_matrix = [(row.endpoint, row.method) for row in MATRIX]

    assert sorted(rows_of_the_app() - set(in_matrix)) == [], "routes missing from tests/security/routes.py"
    assert sorted(set(in_matrix) - rows_of_the_app()) == [], "rows for routes the app no longer has"
    assert len(in_matrix) == len(set(in_matrix)), "a route is in the matrix twice"


def _may_write(row, role):
    """Only the owner's own POSTs change things, and links that every holder may use."""
    return row.anyone_may_write or (row.method != "GET" and role == row.owner)


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
def test_each_role_gets_what_the_matrix_says_and_refusals_write_nothing(portal, row):
    portal.make_pristine()
    problems = []
    for role in ROLES:
        answer = portal.send(row, role)
        if answer.status != row.expected[role]:
            problems.append(f"{role}: expected {row.expected[role]}, got {answer.status}")
        if answer.changed and (answer.status in REFUSALS or not _may_write(row, role)):
            problems.append(f"{role}: got {answer.status} and wrote to {answer.changed}")

    assert problems == []


@pytest.mark.parametrize("row", POST_ONLY, ids=lambda row: row.id)
def test_a_get_to_a_post_only_route_is_not_allowed_and_writes_nothing(portal, row):
    portal.make_pristine()

    answer = portal.send(replace(row, method="GET"), row.owner)

    assert (answer.status, answer.changed) == (405, [])


def _tampered(token):
    return [token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), "x" + token, "not-a-token"]


@pytest.mark.parametrize("row", WITH_TOKEN, ids=lambda row: row.id)
def test_a_tampered_or_made_up_token_opens_nothing_and_writes_nothing(portal, row):
    portal.make_pristine()
    token = url_values(portal.world, row)["token"]

    for fake in _tampered(token):
        answer = portal.send(row, "anonymous", replaced={"token": fake})

        assert answer.status in (400, 404), f"{row.id} answered {answer.status} to the token {fake!r}"
        assert answer.changed == []
