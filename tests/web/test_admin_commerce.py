"""E-commerce settings: off by default, saved by the site's admins, payment methods need their set-up."""

import pytest

from app.extensions import db
from app.models import CommerceSettings
from app.services.commerce import settings_for
from tests import factories
from tests.commerce_factories import switch_on

SECRET = "EFx-very-secret-value-42"

GOOD = {
    "enabled": "y", "fee_based": "y", "coupons": "y",
    "paypal_enabled": "y", "bank_transfer_enabled": "y",
    "paypal_client_id": "client-abc", "paypal_secret": SECRET,
    "paypal_base_url": "https://api-m.sandbox.paypal.com", "paypal_webhook_id": "WH-1",
    "bank_transfer_details": "Lectern AB\nIBAN SE45 5000 0000 0583 9825 7466\nBIC ESSESESS",
    "hold_minutes": "30",
    "person_minute_rate": "0.35", "teleconference_minute_rate": "1.5",
    "minimum_charge_minor": "0", "settlement_mode": "refund",
    "waitlist_offer_hours": "24", "reminder_hours": "24, 1",
}


@pytest.fixture
def admin(csrf_client):
    user = factories.make_user(role="admin")
    csrf_client.sign_in(user)
    return user


def stored(organization):
    db.session.expire_all()
    return db.session.get(CommerceSettings, organization.id)


def test_ecommerce_is_off_until_an_admin_switches_it_on(csrf_client, admin):
    response = csrf_client.get("/admin/commerce")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="enabled"' in html and "checked" not in html
    assert 'value="15"' in html  # the default seat hold
    settings = settings_for(admin.organization)
    assert (settings.enabled, settings.fee_based, settings.pay_per_use, settings.coupons) == (
        False, False, False, False)
    assert stored(admin.organization) is None


def test_admin_saves_the_ecommerce_settings(csrf_client, admin):
    response = csrf_client.post("/admin/commerce", GOOD)

    assert response.status_code == 302
    settings = stored(admin.organization)
    assert (settings.enabled, settings.fee_based, settings.pay_per_use, settings.coupons) == (
        True, True, False, True)
    assert (settings.paypal_enabled, settings.bank_transfer_enabled) == (True, True)
    assert settings.paypal_client_id == "client-abc"
    assert settings.paypal_client_secret == SECRET
    assert settings.paypal_base_url == "https://api-m.sandbox.paypal.com"
    assert settings.paypal_webhook_id == "WH-1"
    assert settings.bank_transfer_details.startswith("Lectern AB")
    assert settings.hold_minutes == 30
    page = csrf_client.get("/admin/commerce").get_data(as_text=True)
    assert "The e-commerce settings have been saved." in page


def test_unticked_switches_are_saved_as_off(csrf_client, admin):
    switch_on(admin.organization, fee_based=True, coupons=True)

    response = csrf_client.post("/admin/commerce", {"hold_minutes": "15", "person_minute_rate": "0",
                                                    "teleconference_minute_rate": "0",
                                                    "minimum_charge_minor": "0", "settlement_mode": "refund",
                                                    "waitlist_offer_hours": "24"})

    assert response.status_code == 302
    settings = stored(admin.organization)
    assert (settings.enabled, settings.fee_based, settings.coupons) == (False, False, False)


def test_paypal_without_credentials_is_refused_and_the_input_kept(csrf_client, admin):
    response = csrf_client.post("/admin/commerce", {
        "enabled": "y", "paypal_enabled": "y", "paypal_webhook_id": "WH-typed", "hold_minutes": "25",
    })

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "PayPal needs a client ID." in html
    assert "PayPal needs a client secret." in html
    assert 'value="WH-typed"' in html and 'value="25"' in html
    assert stored(admin.organization) is None


def test_bank_transfer_without_details_is_refused(csrf_client, admin):
    response = csrf_client.post("/admin/commerce", {"bank_transfer_enabled": "y", "hold_minutes": "15"})

    assert response.status_code == 422
    assert "Bank transfer needs the details buyers pay to." in response.get_data(as_text=True)
    assert stored(admin.organization) is None


def test_the_paypal_secret_is_never_rendered_and_an_empty_field_keeps_it(csrf_client, admin):
    csrf_client.post("/admin/commerce", GOOD)

    page = csrf_client.get("/admin/commerce").get_data(as_text=True)
    kept = csrf_client.post("/admin/commerce", dict(GOOD, paypal_secret="", hold_minutes="20"))
    refused = csrf_client.post(
        "/admin/commerce", dict(GOOD, paypal_secret="typed-new-secret", hold_minutes="0")
    )

    assert SECRET not in page
    assert "A secret is stored. Leave this empty to keep it." in page
    assert kept.status_code == 302
    assert refused.status_code == 422
    assert "typed-new-secret" not in refused.get_data(as_text=True)
    assert SECRET not in refused.get_data(as_text=True)
    settings = stored(admin.organization)
    assert (settings.paypal_client_secret, settings.hold_minutes) == (SECRET, 20)


@pytest.mark.parametrize("field,value,message", [
    ("paypal_base_url", "ftp://paypal.example", "Enter an address that starts with http:// or https://."),
    ("paypal_base_url", "javascript:alert(1)", "Enter an address that starts with http:// or https://."),
    ("hold_minutes", "0", "Enter a number of minutes from 1 to 1440."),
    ("hold_minutes", "1441", "Enter a number of minutes from 1 to 1440."),
    ("hold_minutes", "soon", "Not a valid integer value."),
])
def test_bad_values_are_refused_with_a_message_on_their_field(csrf_client, admin, field, value, message):
    response = csrf_client.post("/admin/commerce", dict(GOOD, **{field: value}))

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html and message in html
    assert stored(admin.organization) is None


def test_an_empty_api_address_means_the_server_default(csrf_client, admin):
    response = csrf_client.post("/admin/commerce", dict(GOOD, paypal_base_url=""))

    assert response.status_code == 302
    assert stored(admin.organization).paypal_base_url == ""


def test_the_site_currency_is_shown_with_a_link_to_the_organisation_settings(csrf_client, admin):
    admin.organization.currency = "SEK"
    db.session.commit()

    html = csrf_client.get("/admin/commerce").get_data(as_text=True)

    assert "SEK — Swedish Krona" in html
    assert 'href="/admin/organization"' in html
    assert 'name="currency"' not in html


@pytest.mark.parametrize("role", ["host", "member"])
def test_ecommerce_settings_are_closed_to_hosts_and_members(csrf_client, role):
    user = factories.make_user(role=role)
    csrf_client.sign_in(user)

    assert csrf_client.get("/admin/commerce").status_code == 403
    assert csrf_client.post("/admin/commerce", GOOD, page="/").status_code == 403
    assert stored(user.organization) is None


def test_the_admin_menu_shows_coupons_and_reports_only_when_switched_on(csrf_client, admin):
    before = csrf_client.get("/admin/people").get_data(as_text=True)
    switch_on(admin.organization, coupons=True)
    after = csrf_client.get("/admin/people").get_data(as_text=True)

    assert 'href="/admin/commerce"' in before
    assert 'href="/admin/coupons"' not in before and 'href="/admin/orders"' not in before
    assert 'href="/admin/coupons"' in after
    assert 'href="/admin/orders"' in after and 'href="/admin/revenue"' in after


def test_pay_per_use_rates_keep_fractions_of_a_minor_unit(csrf_client, admin):
    from decimal import Decimal

    csrf_client.post("/admin/commerce", dict(GOOD, pay_per_use="y", person_minute_rate="0.3525",
                                             minimum_charge_minor="500"))

    saved = stored(admin.organization)
    assert (saved.person_minute_rate, saved.teleconference_minute_rate) == (Decimal("0.3525"), Decimal("1.5"))
    assert saved.minimum_charge_minor == 500 and saved.pay_per_use


def test_a_negative_rate_is_refused_and_nothing_is_saved(csrf_client, admin):
    response = csrf_client.post("/admin/commerce", dict(GOOD, person_minute_rate="-1"))

    assert response.status_code == 422
    assert "Enter a rate of zero or more." in response.get_data(as_text=True)
    assert stored(admin.organization) is None
