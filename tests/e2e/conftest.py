"""A live Lectern server in a thread and Debian's Chromium driven by Playwright."""

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.conftest import CHROMIUM

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (make test installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(tmp_path):
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'e2e.sqlite'}",
        MAIL_FILE_DIR=str(tmp_path / "mail"),
        MAIL_DELIVER_AFTER_REQUEST=True,
    )
    with app.app_context():
        db.create_all()
    with LiveServer(app) as server:
        server.mail_dir = tmp_path / "mail"
        app.config["EXTERNAL_URL"] = server.url
        yield server
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def expected_console_errors():
    """Console errors a test causes on purpose (substrings), e.g. a deliberate 404 page."""
    return []


@pytest.fixture
def page(browser, live_server, expected_console_errors):
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Stockholm")
    page = context.new_page()
    errors = []

    def record(message):
        # A form with errors answers 422 on purpose, and Chromium logs every 4xx as an error;
        # pages of other sites (the fake PayPal) are not ours to judge.
        ours = message.location.get("url", "").startswith(live_server.url)
        expected = ["status of 422", *expected_console_errors]
        if message.type == "error" and ours and not any(e in message.text for e in expected):
            errors.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"browser console errors: {errors}"
