"""Security headers on every page the matrix opens, for every role that opens it (the start
page's headers are tested in detail in tests/web/test_security_and_errors.py), and nothing
personal kept by shared caches: pages for a signed-in user and pages behind a link's token."""

import pytest

from tests.security.routes import MATRIX, ROLES, arguments_of

SIGNED_IN = [role for role in ROLES if role != "anonymous"]
PAGES = [row for row in MATRIX if row.method == "GET" and 200 in row.expected.values()]
SIGNED_IN_PAGES = [row for row in PAGES if any(row.expected[role] == 200 for role in SIGNED_IN)]
BEHIND_A_TOKEN = [row for row in MATRIX if row.method == "GET" and "token" in arguments_of(row)]


def _header_problems(headers):
    csp = headers.get("Content-Security-Policy", "")
    expected = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    problems = [f"{name}: {headers.get(name)!r}" for name, value in expected.items() if headers.get(name) != value]
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        if directive not in csp:
            problems.append(f"the CSP lacks {directive}")
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
        problems.append(f"the CSP allows inline code: {csp}")
    if "camera=()" not in headers.get("Permissions-Policy", ""):
        problems.append(f"Permissions-Policy: {headers.get('Permissions-Policy')!r}")
    return problems


def _shared_caches_may_keep(headers):
    directives = {part.strip().split("=")[0] for part in headers.get("Cache-Control", "").split(",")}
    return not directives & {"private", "no-store"}


@pytest.mark.parametrize("row", PAGES, ids=lambda row: row.id)
def test_every_page_sends_the_security_headers_to_everyone_who_opens_it(portal, row):
    portal.make_pristine()
    problems = []
    for role in [role for role in ROLES if row.expected[role] == 200]:
        problems += [f"{role}: {problem}" for problem in _header_problems(portal.send(row, role).response.headers)]

    assert problems == []


@pytest.mark.parametrize("row", SIGNED_IN_PAGES, ids=lambda row: row.id)
def test_pages_for_a_signed_in_user_are_kept_by_no_shared_cache(portal, row):
    portal.make_pristine()
    role = row.owner if row.expected[row.owner] == 200 else next(r for r in SIGNED_IN if row.expected[r] == 200)

    answer = portal.send(row, role)

    assert not _shared_caches_may_keep(answer.response.headers), answer.response.headers.get("Cache-Control")


@pytest.mark.parametrize("row", BEHIND_A_TOKEN, ids=lambda row: row.id)
def test_pages_behind_a_token_are_kept_by_no_shared_cache_even_for_anonymous_visitors(portal, row):
    portal.make_pristine()

    answer = portal.send(row, "anonymous")

    assert not _shared_caches_may_keep(answer.response.headers), answer.response.headers.get("Cache-Control")


def test_a_public_page_for_an_anonymous_visitor_is_not_marked_personal(portal):
    portal.make_pristine()

    answer = portal.send(next(row for row in MATRIX if row.endpoint == "plans.pricing"), "anonymous")

    assert answer.status == 200
    assert _shared_caches_may_keep(answer.response.headers)
