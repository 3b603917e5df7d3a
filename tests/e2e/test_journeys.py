"""What only a browser shows: sign-up, the language picker, sign-in, reset mail, htmx swaps."""

import email
import re
from email import policy

from playwright.sync_api import expect


def sign_up(page, base, email_address="ada@example.com", password="a long password"):
    page.goto(f"{base}/auth/sign-up")
    page.get_by_label("Your name").fill("Ada Trainer")
    page.get_by_label("Email address").fill(email_address)
    page.get_by_label("Organisation name").fill("Ada Academy")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.locator("#main").get_by_role("button", name="Sign up").click()


def sign_in(page, email_address, password, button="Sign in"):
    page.locator("#main").get_by_role("textbox").first.fill(email_address)
    page.locator("#main input[type=password]").fill(password)
    page.locator("#main").get_by_role("button", name=button).click()


def test_sign_up_switch_language_sign_out_and_sign_in_again(page, live_server):
    base = live_server.url
    sign_up(page, base)
    expect(page.get_by_text("Welcome to Lectern! Your organisation has been created.")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # The picker submits itself when JavaScript runs (its button is for no-JS browsers).
    page.get_by_label("Language").select_option("sv")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", name="Kommande sessioner")).to_be_visible()

    page.get_by_role("button", name="Logga ut").click()
    page.get_by_role("link", name="Logga in").first.click()
    expect(page.get_by_label("E-postadress")).to_be_visible()
    sign_in(page, "ada@example.com", "a long password", button="Logga in")

    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_text("Ada Trainer")).to_be_visible()


def test_a_wrong_password_is_explained_and_the_email_is_kept(page, live_server):
    base = live_server.url
    sign_up(page, base)
    page.get_by_role("button", name="Sign out").click()

    page.goto(f"{base}/auth/sign-in")
    sign_in(page, "ada@example.com", "not my password")

    expect(page.get_by_text("The email address or password is not correct.")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value("ada@example.com")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")


def test_password_reset_by_the_emailed_link(page, live_server):
    base = live_server.url
    sign_up(page, base)
    page.get_by_role("button", name="Sign out").click()

    page.goto(f"{base}/auth/forgot-password")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text("If an account exists for that address")).to_be_visible()

    [eml] = list(live_server.mail_dir.glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    link = re.search(r"http://\S+/auth/reset-password/\S+", message.get_body(("plain",)).get_content()).group(0)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("my new password!")
    page.get_by_label("Repeat the new password").fill("my new password!")
    page.get_by_role("button", name="Save the password").click()

    sign_in(page, "ada@example.com", "my new password!")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_departments_are_added_in_place_with_htmx_and_errors_swap_in(page, live_server):
    base = live_server.url
    sign_up(page, base)
    page.goto(f"{base}/admin/departments")
    page.evaluate("window.sameDocument = true")  # gone if the page were reloaded

    page.get_by_label("Department name").fill("Finance")
    page.get_by_role("button", name="Add department").click()
    expect(page.locator("#departments li", has_text="Finance")).to_be_visible()
    expect(page.get_by_label("Department name")).to_have_value("")

    page.get_by_label("Department name").fill("finance")
    page.get_by_role("button", name="Add department").click()
    expect(page.get_by_text("A department with this name already exists.")).to_be_visible()
    expect(page.get_by_label("Department name")).to_be_focused()

    assert page.evaluate("window.sameDocument") is True
    expect(page.locator("#progress")).to_have_count(1)
