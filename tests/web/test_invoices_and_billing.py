"""The buyer's billing details on the payment page, the invoice downloads on the receipt page,
and the administrator's "Invoices and tax" page."""

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import CommerceSettings, Invoice, Order, TaxRate
from app.services import checkout, commerce, invoicing, registrations
from app.services.order_links import make_order_token
from tests import factories


@pytest.fixture
def shop(app):
    """A Swedish site adding 25 % VAT on top of its prices, with a session at €100."""
    admin = factories.make_user(role="admin")
    organization = admin.organization
    organization.currency = "EUR"
    commerce.update_settings(organization, enabled=True, fee_based=True, bank_transfer_enabled=True,
                             bank_transfer_details="IBAN SE00 0000")
    settings = commerce.settings_for(organization)
    settings.prices_include_tax = False
    settings.legal_name, settings.legal_address, settings.legal_country = "Kursverket AB", "Storgatan 1", "SE"
    settings.invoice_prefix = "KV-"
    db.session.add(TaxRate(organization_id=organization.id, country="", rate_bp=2500))
    db.session.commit()
    host = factories.make_user(organization, role="host")
    return factories.make_session(host, fee_minor=10000, currency="EUR", title="Kurs")


def _order(shop, email="ana@example.com"):
    return registrations.register(shop, "Ana", email, "en", 15)


def _url(app, order, *parts):
    return "/".join([f"/checkout/{make_order_token(order, app.config['SECRET_KEY'])}", *parts])


def _total(html):
    return re.search(r'id="order-total"><strong>([^<]+)<', html).group(1).replace("\xa0", " ")


def _billing(order):
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    return (order.buyer_company, order.buyer_country, order.buyer_vat_id, order.tax_exemption_reference,
            order.tax_treatment, order.tax_minor, order.total_minor)


def test_a_new_registration_order_is_taxed_by_the_sites_rules_from_the_start(shop):
    order = registrations.register(shop, "Ana", "ana@example.com", "en", 15)

    assert (order.tax_treatment, order.tax_rate_bp) == ("standard", 2500)
    assert (order.subtotal_minor, order.tax_minor, order.total_minor) == (10000, 2500, 12500)


# Billing details ---------------------------------------------------------------------------


def test_the_payment_page_shows_the_tax_and_the_billing_details_form(app, csrf_client, shop):
    html = csrf_client.get(_url(app, _order(shop))).get_data(as_text=True)

    assert "VAT 25%" in html and _total(html) == "€125.00"
    assert 'name="vat_id"' in html and 'name="country"' in html and 'name="tax_exemption_reference"' in html
    assert '<option value="SE">Sweden</option>' in html


def test_a_business_in_another_eu_country_pays_no_vat_and_the_total_updates_in_place(app, csrf_client, shop):
    order = _order(shop)
    page = _url(app, order)

    response = csrf_client.htmx_post(_url(app, order, "billing"), {
        "company": "Acme GmbH", "address": "Hauptstraße 1\nBerlin", "country": "DE", "vat_id": "de 123 456 789",
    }, page=page)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="checkout"')
    assert _total(html) == "€100.00"
    assert "Reverse charge: VAT to be accounted for by the recipient" in html
    assert re.search(r'name="shown_total"[^>]*value="10000"', html)
    assert _billing(order) == ("Acme GmbH", "DE", "DE123456789", "", "reverse_charge", 0, 10000)


def test_with_prices_that_include_vat_a_reverse_charge_business_sees_the_vat_taken_off(app, csrf_client, shop):
    commerce.settings_for(shop.organization).prices_include_tax = True
    db.session.commit()
    order = _order(shop)
    assert _total(csrf_client.get(_url(app, order)).get_data(as_text=True)) == "€100.00"

    response = csrf_client.htmx_post(_url(app, order, "billing"), {
        "company": "Acme GmbH", "address": "Hauptstraße 1", "country": "DE", "vat_id": "DE123456789",
    }, page=_url(app, order))

    html = response.get_data(as_text=True)
    assert "VAT included in the price, not charged" in html and "−€20.00" in html
    assert _total(html) == "€80.00"
    assert re.search(r'name="shown_total"[^>]*value="8000"', html)


def test_an_exempt_buyer_pays_no_tax_and_the_page_says_why(app, csrf_client, shop):
    order = _order(shop)

    response = csrf_client.post(_url(app, order, "billing"), {"tax_exemption_reference": "UN-4711"},
                                page=_url(app, order))

    assert response.status_code == 302
    html = csrf_client.get(_url(app, order)).get_data(as_text=True)
    assert _total(html) == "€100.00" and "Exempt from tax: UN-4711" in html
    assert _billing(order)[3:] == ("UN-4711", "exempt", 0, 10000)


def test_clearing_the_details_brings_the_tax_back(app, csrf_client, shop):
    order = _order(shop)
    csrf_client.post(_url(app, order, "billing"), {"tax_exemption_reference": "UN-4711"}, page=_url(app, order))

    csrf_client.post(_url(app, order, "billing"), {"tax_exemption_reference": ""}, page=_url(app, order))

    assert _billing(order)[4:] == ("standard", 2500, 12500)


@pytest.mark.parametrize("form, field, message", [
    ({"country": "DE", "vat_id": "SE556012345601"}, "vat_id", "A VAT ID from this country starts with DE."),
    ({"country": "DE", "vat_id": "12345"}, "vat_id", "Enter the VAT ID with its country prefix"),
    ({"country": "", "vat_id": "DE123456789"}, "vat_id", "Choose the country of the VAT ID."),
    ({"country": "XX", "vat_id": ""}, "country", "Not a valid choice."),
    ({"country": "SE", "company": "x" * 201}, "company", "Enter at most 200 characters."),
])
def test_bad_billing_details_are_refused_on_the_same_page_with_the_input_kept(
        app, csrf_client, shop, form, field, message):
    order = _order(shop)
    before = _billing(order)
    form = {"company": "Acme <b>GmbH</b>", **form}

    response = csrf_client.htmx_post(_url(app, order, "billing"), form, page=_url(app, order))

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html and message in html
    assert "Acme &lt;b&gt;GmbH&lt;/b&gt;" in html or "x" * 201 in html
    if form.get("vat_id"):
        assert f'value="{form["vat_id"]}"' in html
    assert _billing(order) == before


def test_billing_details_cannot_change_after_the_hold_ran_out(app, csrf_client, shop):
    order = _order(shop)
    page = _url(app, order)
    token = csrf_client.token(page)
    order.expires_at = order.registration.hold_expires_at = order.created_at - timedelta(minutes=1)
    db.session.commit()
    before = _billing(order)

    response = csrf_client.client.post(_url(app, order, "billing"), data={
        "csrf_token": token, "country": "DE", "vat_id": "DE123456789"})

    assert response.status_code == 422
    assert "Your seat hold has run out and the order can no longer be paid." in response.get_data(as_text=True)
    assert _billing(order) == before


def test_a_coupon_after_the_billing_details_keeps_the_reverse_charge(app, csrf_client, shop):
    from tests.commerce_factories import make_coupon

    commerce.update_settings(shop.organization, coupons=True)
    make_coupon(shop.organization, code="HALF", kind="percent", value=50)
    order = _order(shop)
    csrf_client.post(_url(app, order, "billing"), {"country": "DE", "vat_id": "DE123456789"}, page=_url(app, order))

    csrf_client.post(_url(app, order, "coupon"), {"code": "half"}, page=_url(app, order))

    assert _billing(order)[4:] == ("reverse_charge", 0, 5000)


# Documents on the receipt page ----------------------------------------------------------------


def _paid(order):
    checkout.begin_payment(order, "bank_transfer", order.total_minor, None, "", "", timedelta(days=7))
    checkout.mark_bank_transfer_paid(db.session.get(Order, order.id))
    return db.session.get(Order, order.id)


def test_the_receipt_lists_the_invoice_and_credit_note_and_serves_them_as_pdf(app, client, shop):
    order = _paid(_order(shop))
    checkout.refund_order(order, 2500, None)
    invoice, note = invoicing.documents_of(order.id)

    html = client.get(_url(app, order, "receipt")).get_data(as_text=True)
    response = client.get(_url(app, order, "documents", f"{note.id}.pdf"))

    assert "Invoice KV-000001 (PDF)" in html and "Credit note KV-000002 (PDF)" in html
    assert _url(app, order, "documents", f"{invoice.id}.pdf") in html
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="KV-000002.pdf"'
    assert response.data.startswith(b"%PDF")


def test_an_order_link_opens_no_other_orders_documents(app, client, shop):
    mine = _paid(_order(shop, "ana@example.com"))
    theirs = _paid(_order(shop, "bo@example.com"))
    their_invoice = invoicing.invoice_of(theirs.id)

    assert client.get(_url(app, mine, "documents", f"{their_invoice.id}.pdf")).status_code == 404
    assert client.get(_url(app, mine, "documents", "999999.pdf")).status_code == 404
    assert client.get(_url(app, theirs, "documents", f"{their_invoice.id}.pdf")).status_code == 200


# The administrator's page -----------------------------------------------------------------------


def _signed_in_admin(csrf_client, shop):
    admin = next(u for u in shop.organization.users if u.role == "admin")
    csrf_client.sign_in(admin)
    return admin


def test_the_admin_saves_legal_details_and_prices_without_tax(app, csrf_client, shop):
    _signed_in_admin(csrf_client, shop)

    response = csrf_client.post("/admin/invoicing", {
        "legal_name": "Kursverket AB", "legal_address": "Storgatan 1\nStockholm", "legal_country": "SE",
        "legal_vat_id": "se556012345601", "invoice_prefix": "LEC-", "prices_include_tax": "include",
    })

    assert response.status_code == 302
    settings = db.session.get(CommerceSettings, shop.organization_id)
    db.session.refresh(settings)
    assert (settings.legal_vat_id, settings.invoice_prefix, settings.prices_include_tax) == (
        "SE556012345601", "LEC-", True)


@pytest.mark.parametrize("form, message", [
    ({"legal_country": "SE", "legal_vat_id": "DE123456789"}, "A VAT ID from this country starts with SE."),
    ({"invoice_prefix": "A/B"}, "Use at most 20 letters, digits, dots, hyphens and underscores."),
    ({"legal_country": "QQ"}, "Not a valid choice."),
    ({"prices_include_tax": ""}, "This field is required."),
])
def test_bad_legal_details_are_refused_with_the_input_kept_and_nothing_saved(app, csrf_client, shop, form, message):
    _signed_in_admin(csrf_client, shop)
    data = {"legal_name": "Changed name", "legal_country": "SE", "prices_include_tax": "add", **form}

    response = csrf_client.post("/admin/invoicing", data)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and 'value="Changed name"' in html
    db.session.expire_all()
    assert db.session.get(CommerceSettings, shop.organization_id).legal_name == "Kursverket AB"


def test_the_admin_adds_changes_and_removes_tax_rates(app, csrf_client, shop):
    _signed_in_admin(csrf_client, shop)

    assert csrf_client.post("/admin/invoicing/rates", {"country": "DE", "rate": "19"},
                            page="/admin/invoicing").status_code == 302
    assert csrf_client.post("/admin/invoicing/rates", {"country": "", "rate": "12,5"},
                            page="/admin/invoicing").status_code == 302
    rates = {r.country: r.rate_bp for r in db.session.query(TaxRate).filter_by(organization_id=shop.organization_id)}
    assert rates == {"": 1250, "DE": 1900}

    html = csrf_client.get("/admin/invoicing").get_data(as_text=True)
    assert "Germany" in html and "12.5%" in html and "Every other country (default)" in html
    german = db.session.query(TaxRate).filter_by(country="DE").one()
    assert csrf_client.post(f"/admin/invoicing/rates/{german.id}/delete", page="/admin/invoicing").status_code == 302
    assert db.session.query(TaxRate).filter_by(organization_id=shop.organization_id).count() == 1


@pytest.mark.parametrize("rate, message", [
    ("abc", "Enter a percentage such as 25 or 12.5."),
    ("150", "Enter a percentage from 0 to 100."),
    ("", "This field is required."),
])
def test_bad_rates_are_refused_with_the_input_kept(app, csrf_client, shop, rate, message):
    _signed_in_admin(csrf_client, shop)

    response = csrf_client.post("/admin/invoicing/rates", {"country": "DE", "rate": rate}, page="/admin/invoicing")

    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert re.search(r'<option selected value="DE">|<option value="DE" selected>', html)
    assert db.session.query(TaxRate).filter_by(country="DE").count() == 0


def test_the_admin_lists_and_downloads_only_their_own_sites_documents(app, csrf_client, shop):
    order = _paid(_order(shop))
    other_shop = factories.make_session(factories.make_user(role="host"), fee_minor=5000, currency="EUR")
    commerce.update_settings(other_shop.organization, enabled=True, fee_based=True,
                             bank_transfer_enabled=True, bank_transfer_details="x")
    other = _paid(_order(other_shop, "zed@example.com"))
    mine, theirs = invoicing.invoice_of(order.id), invoicing.invoice_of(other.id)
    _signed_in_admin(csrf_client, shop)

    html = csrf_client.get("/admin/invoices").get_data(as_text=True)

    assert "KV-000001" in html and order.code in html and other.code not in html
    assert csrf_client.get(f"/admin/invoices/{mine.id}.pdf").status_code == 200
    assert csrf_client.get(f"/admin/invoices/{theirs.id}.pdf").status_code == 404
    assert db.session.query(Invoice).count() == 2
