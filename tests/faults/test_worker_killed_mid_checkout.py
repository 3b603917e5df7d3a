"""A gunicorn worker killed inside PayPal's capture call: the order ends paid exactly once.

The portal runs under gunicorn (2 sync workers) on PostgreSQL with the fake PayPal as
LECTERN_PAYPAL_BASE_URL. An attendee registers and pays with real HTTP; the fake holds the
capture call while the test SIGKILLs the worker making it — before PayPal captured, or after
PayPal captured but before its answer reached us. The order stays pending until
`flask payments reconcile` settles it; the return page, PayPal's webhook and reconcile run
again afterwards change nothing. An attendee who pays again before reconcile runs is not
charged a second time.

PostgreSQL only: it is what runs several workers in production, and the test uses the suite's
PostgreSQL database (its schema made and emptied by conftest), like the race tests.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OutboxMessage, Payment, Registration
from app.models.base import utcnow
from app.services import commerce
from app.services.registrations import live_seats_taken
from tests import factories
from tests.fakes.smtp import free_port
from tests.processes import ROOT, flask_command, portal_env

CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# gunicorn runs this file as its configuration: each worker notes when it is ready to serve
# (its app loaded) and every request it takes.
WORKER_LOG_HOOKS = """
def post_worker_init(worker):
    note(worker.pid, "{ready}")


def pre_request(worker, req):
    note(worker.pid, req.path)


def note(pid, what):
    with open({log!r}, "a") as log:
        print(pid, what, file=log, flush=True)
"""
READY = "(ready)"


class Gunicorn:
    """The portal under gunicorn with sync workers, as in production."""

    def __init__(self, tmp_path, workers=2, **settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.worker_log = tmp_path / "workers.log"
        self.config = tmp_path / "gunicorn_conf.py"
        self.config.write_text(WORKER_LOG_HOOKS.format(log=str(self.worker_log), ready=READY))
        self.errors = tmp_path / "gunicorn.err"
        self.workers = workers
        self.env = portal_env(EXTERNAL_URL=self.url, **settings)

    def __enter__(self):
        command = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
                   "--bind", f"127.0.0.1:{self.port}", "--config", str(self.config), "wsgi:app"]
        with open(self.errors, "w") as errors:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env,
                                            stdout=subprocess.DEVNULL, stderr=errors)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            if len(self._entries(READY)) >= self.workers:
                return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not start:\n{self.errors.read_text()}")

    def __exit__(self, *exc):
        self.process.terminate()  # the master stops its workers
        self.process.wait(20)

    def worker_that_took(self, path):
        """The pid of the worker that took the latest request for `path`."""
        return self._entries(path)[-1]

    def _entries(self, what):
        if not self.worker_log.exists():
            return []
        lines = (line.split(" ", 1) for line in self.worker_log.read_text().splitlines())
        return [int(pid) for pid, noted in lines if noted == what]

    def reconcile(self):
        return flask_command(["payments", "reconcile"], self.env).stdout


@pytest.fixture
def paid_session(postgresql_app, paypal):
    host = factories.make_user(role="host")
    commerce.update_settings(host.organization, enabled=True, fee_based=True, paypal_enabled=True,
                             paypal_webhook_id=paypal.webhook_id)
    return factories.make_session(host=host, fee_minor=4900, currency="EUR", capacity=5)


@pytest.fixture
def portal(postgresql_app, paypal, tmp_path):
    with Gunicorn(
        tmp_path,
        ENV="production",
        SECRET_KEY="fault-test-secret-key-long-enough-for-production-use",
        SECURE_COOKIES=0,  # plain HTTP on loopback
        DATABASE_URL=postgresql_app.config["SQLALCHEMY_DATABASE_URI"],
        MAIL_TRANSPORT="file",
        MAIL_FILE_DIR=tmp_path / "mail",
        PAYPAL_BASE_URL=paypal.base_url,
        PAYPAL_CLIENT_ID=paypal.client_id,
        PAYPAL_CLIENT_SECRET=paypal.client_secret,
    ) as portal:
        yield portal


def submit(browser, page_url, action_url, fields):
    """Post a form the way a browser does, with the CSRF token of the page it is on; returns
    where the answer redirects to."""
    token = CSRF_TOKEN.search(browser.get(page_url, timeout=30).text).group(1)
    response = browser.post(action_url, data={**fields, "csrf_token": token}, allow_redirects=False,
                            timeout=30)
    assert response.status_code in (302, 303), response.text
    return urljoin(action_url, response.headers["Location"])


def register(portal, session):
    """Register as an attendee; returns the browser and the order's payment page."""
    browser = requests.Session()
    register_url = f"{portal.url}/s/{session.slug}/register"
    checkout_url = submit(browser, register_url, register_url,
                          {"name": "Ana Attendee", "email": "ana@example.com"})
    return browser, checkout_url


def pay_with_paypal(browser, checkout_url):
    """Choose PayPal and approve on PayPal's page: returns where PayPal sends the attendee back
    to (where we capture) and PayPal's order id; None, None when we showed the receipt instead."""
    next_url = submit(browser, checkout_url, f"{checkout_url}/pay",
                      {"method": "paypal", "shown_total": "4900"})
    if next_url.endswith("/receipt"):
        return None, None
    paypal_order_id = re.search(r"token=([^&]+)", next_url).group(1)
    approved = browser.post(urljoin(next_url, "/checkoutnow/approve"), data={"token": paypal_order_id},
                            allow_redirects=False, timeout=30)
    return approved.headers["Location"], paypal_order_id


def kill_the_worker_inside_the_capture(portal, hold, return_url):
    """Return to the portal from PayPal; while its worker waits in the held capture call,
    SIGKILL that worker. The attendee's request dies with it."""
    outcome = {}

    def attendee_returns():
        try:
            outcome["status"] = requests.get(return_url, allow_redirects=False, timeout=30).status_code
        except requests.ConnectionError as error:
            outcome["error"] = error

    attendee = threading.Thread(target=attendee_returns)
    attendee.start()
    assert hold.reached.wait(20), "the capture call never reached PayPal"
    os.kill(portal.worker_that_took(urlsplit(return_url).path), signal.SIGKILL)
    attendee.join(20)
    assert "error" in outcome, f"the attendee's request should have died with its worker: {outcome}"


def state_of(session):
    db.session.rollback()  # a fresh snapshot: the portal's processes wrote since
    order = db.session.scalar(select(Order).where(Order.session_id == session.id))
    return {
        "order": order.state,
        "payments captured": db.session.scalar(
            select(func.count(Payment.id)).where(Payment.order_id == order.id, Payment.state == "captured")
        ),
        "registration": db.session.scalar(
            select(Registration.state).where(Registration.order_id == order.id)
        ),
        "seats taken": live_seats_taken(session.id, utcnow()),
        "confirmation emails": db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.template == "registration_confirmed")
        ),
        "capture ids": db.session.scalars(
            select(Payment.capture_id).where(Payment.order_id == order.id, Payment.capture_id.is_not(None))
        ).all(),
    }


def paid_exactly_once(paypal):
    assert len(paypal.captures) == 1, f"PayPal took the money {len(paypal.captures)} times"
    return {"order": "paid", "payments captured": 1, "registration": "confirmed", "seats taken": 1,
            "confirmation emails": 1, "capture ids": list(paypal.captures)}


def pending_with_the_seat_held():
    return {"order": "pending", "payments captured": 0, "registration": "held", "seats taken": 1,
            "confirmation emails": 0, "capture ids": []}


def everything_reports_the_capture_again(portal, paypal, session, return_url, paypal_order_id):
    """The attendee reloads the return page, PayPal delivers its webhook twice, cron runs
    reconcile twice: all of it must find the payment already settled."""
    back = requests.get(return_url, allow_redirects=False, timeout=30)
    assert back.status_code == 302 and back.headers["Location"].endswith("/receipt")
    webhook_url = f"{portal.url}/webhooks/paypal/{session.organization_id}"
    delivered = paypal.send_webhook(webhook_url, "PAYMENT.CAPTURE.COMPLETED", paypal_order_id, times=2)
    assert delivered == [204, 204]
    for _ in range(2):
        assert "captured: 0" in portal.reconcile()


def test_a_worker_killed_before_paypal_captured_leaves_the_order_pending_until_reconcile_captures_it(
    portal, paypal, paid_session
):
    browser, checkout_url = register(portal, paid_session)
    return_url, paypal_order_id = pay_with_paypal(browser, checkout_url)
    hold = paypal.hold_next("/capture")  # the worker's capture call waits before PayPal acts on it

    kill_the_worker_inside_the_capture(portal, hold, return_url)

    assert paypal.orders[paypal_order_id]["status"] == "APPROVED"
    assert state_of(paid_session) == pending_with_the_seat_held()

    assert "captured: 1" in portal.reconcile()  # PayPal says approved: reconcile captures

    assert state_of(paid_session) == paid_exactly_once(paypal)
    hold.release()  # the dead worker's capture call goes through late: PayPal replays its key
    assert hold.finished.wait(10)
    everything_reports_the_capture_again(portal, paypal, paid_session, return_url, paypal_order_id)
    assert state_of(paid_session) == paid_exactly_once(paypal)


def test_a_worker_killed_after_paypal_captured_leaves_the_order_pending_until_reconcile_records_it(
    portal, paypal, paid_session
):
    browser, checkout_url = register(portal, paid_session)
    return_url, paypal_order_id = pay_with_paypal(browser, checkout_url)
    hold = paypal.hold_next("/capture", handle_first=True)  # PayPal captures, its answer waits

    kill_the_worker_inside_the_capture(portal, hold, return_url)
    hold.release()  # the answer goes to a dead connection

    assert paypal.orders[paypal_order_id]["status"] == "COMPLETED"
    assert state_of(paid_session) == pending_with_the_seat_held()

    assert "captured: 1" in portal.reconcile()  # PayPal says completed: reconcile records it

    assert state_of(paid_session) == paid_exactly_once(paypal)
    everything_reports_the_capture_again(portal, paypal, paid_session, return_url, paypal_order_id)
    assert state_of(paid_session) == paid_exactly_once(paypal)


def test_an_attendee_who_pays_again_after_the_worker_died_is_charged_once(portal, paypal, paid_session):
    browser, checkout_url = register(portal, paid_session)
    return_url, paypal_order_id = pay_with_paypal(browser, checkout_url)
    hold = paypal.hold_next("/capture", handle_first=True)
    kill_the_worker_inside_the_capture(portal, hold, return_url)
    hold.release()
    assert state_of(paid_session) == pending_with_the_seat_held()

    # The attendee saw the page fail, goes back to the payment page and pays again.
    second_return_url, _ = pay_with_paypal(browser, checkout_url)
    if second_return_url is not None:  # sent to PayPal a second time: the payment completes
        requests.get(second_return_url, allow_redirects=False, timeout=30)

    assert state_of(paid_session) == paid_exactly_once(paypal)
    assert second_return_url is None, "the attendee was sent to PayPal again, not to the receipt"
    everything_reports_the_capture_again(portal, paypal, paid_session, return_url, paypal_order_id)
    assert state_of(paid_session) == paid_exactly_once(paypal)
