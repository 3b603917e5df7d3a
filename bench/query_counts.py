"""SQL statements per request, counted in-process with Flask's test client."""

from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db
from app.services.demo import DEMO_PASSWORD


@contextmanager
def counting_queries():
    """Yields a list that collects each SQL statement the app sends while the block runs."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def signed_in_client(app, email):
    client = app.test_client()
    response = client.post("/auth/sign-in", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, f"could not sign in {email}: {response.status_code}"
    return client


def queries_per_page(app, pages, host_email):
    """{page name: statements for one request}, after a first request has warmed caches up."""
    anonymous, host = app.test_client(), signed_in_client(app, host_email)
    counts = {}
    for page in pages:
        client = host if page.signed_in else anonymous
        headers = {"HX-Request": "true"} if page.htmx else {}
        send = lambda: client.open(page.path, method=page.method, data=page.form, headers=headers)  # noqa: E731
        first = send()
        assert first.status_code < 400, f"{page.name}: {first.status_code}"
        db.session.remove()  # as in production, the request starts with nothing loaded
        with counting_queries() as statements:
            send()
        counts[page.name] = len(statements)
    return counts
