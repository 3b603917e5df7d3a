"""A paid attendee opens the emailed link, waits for the room to open and is let in;
a stranger with a guessed link is refused."""

import email
import re
from datetime import timedelta
from email import policy

from playwright.sync_api import expect

from app.models.base import utcnow
from app.services import checkout, commerce, mail, registrations
from tests import factories


def test_the_emailed_link_waits_for_the_window_then_opens_the_room(page, live_server,
                                                                    expected_console_errors):
    expected_console_errors.append("status of 404")  # the guessed link at the end
    app = live_server.app
    app.config["JOIN_OPENS_MINUTES_BEFORE"] = 15
    meeting = f"{live_server.url}/?room=live"
    with app.app_context():
        host = factories.make_user(role="host")
        commerce.update_settings(host.organization, enabled=True, fee_based=True,
                                 bank_transfer_enabled=True, bank_transfer_details="IBAN")
        # The room opens 15 minutes before the start: here, in about four seconds.
        session = factories.make_session(host=host, fee_minor=2500, meeting_url=meeting,
                                         starts_at=utcnow() + timedelta(minutes=15, seconds=4))
        order = registrations.register(session, "Ana", "ana@example.com", "en", 15)
        checkout.begin_payment(order, "bank_transfer", 2500, None, "", "", timedelta(days=1))
        checkout.mark_bank_transfer_paid(order)
        mail.deliver_with_config(app.config)
    confirmation = next(
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in live_server.mail_dir.glob("*.eml") if "/j/" in p.read_text()
    )
    link = re.search(r"http://\S+/j/\S+", confirmation.get_body(("plain",)).get_content()).group(0)

    page.goto(link)
    expect(page.get_by_text("The room opens at")).to_be_visible()
    expect(page.locator(".countdown")).not_to_be_empty()
    page.wait_for_url(re.compile(r"room=live"), timeout=15000)  # the page lets itself in

    page.goto(link.rsplit("/", 1)[0] + "/" + "A" * 43)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
