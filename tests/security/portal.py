"""The portal the security tests attack: one app and one world per backend, rebuilt only after
a request that changed it, and a signed-in browser for each role of the matrix (routes.py)."""

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from flask import url_for

from app.blueprints.plans.views import CART_KEY
from tests.conftest import _empty_all_tables
from tests.security.routes import SIGN_IN, query_values, url_values
from tests.security.world import build_world, changed_tables, plan_cart, table_rows

CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')


@dataclass
class Answer:
    status: object  # the status code, or SIGN_IN for a redirect to the sign-in page
    response: object
    changed: list  # the tables the request wrote to


class Portal:
    def __init__(self, app, paypal):
        self.app = app
        self.paypal = paypal
        self.rebuild()

    def rebuild(self):
        _empty_all_tables()
        self.world = build_world(self.app.secret_key, self.paypal)
        self.baseline = table_rows()

    def make_pristine(self):
        if changed_tables(self.baseline, table_rows()):
            self.rebuild()

    def client(self, role):
        """A browser of this role, with a plan in its cart (so the cart and checkout pages open)."""
        client = self.app.test_client()
        with client.session_transaction() as session:
            session[CART_KEY] = plan_cart(self.world)
            if role != "anonymous":
                session["_user_id"] = str(self.world.users[role].id)
                session["_fresh"] = True
        return client

    def url(self, row, **replaced):
        """The row's URL filled from the world; `replaced` values win (a forged token, say)."""
        with self.app.test_request_context():
            path = url_for(row.endpoint, **url_values(self.world, row) | replaced)
        query = query_values(self.world, row)
        return f"{path}?{urlencode(query)}" if query else path

    def send(self, row, role, form=None, replaced=None, **kwargs):
        """The row's request as this role, against the pristine world; it is pristine again after.
        A POST sends `form`, by default an empty form with the client's own CSRF token."""
        client = self.client(role)
        url = self.url(row, **(replaced or {}))
        if row.method == "GET":
            response = client.get(url, **kwargs)
        else:
            data = {"csrf_token": csrf_token_of(client)} if form is None else form
            response = client.open(url, method=row.method, data=data, **kwargs)
        changed = changed_tables(self.baseline, table_rows())
        if changed:
            self.rebuild()
        return Answer(status_of(response), response, changed)


def csrf_token_of(client):
    """The token every page hands htmx (and forms), for this client's session; read from a
    light page (the start page lists sessions)."""
    match = CSRF_HEADER.search(client.get("/auth/forgot-password").get_data(as_text=True))
    assert match, "the page carries no CSRF token"
    return match.group(1)


def status_of(response):
    if response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/auth/sign-in":
        return SIGN_IN
    return response.status_code
