"""The site's tax rules applied to orders: rates per country, inclusive or exclusive prices,
coupons, reverse charge and exemptions, with exact numbers."""

import pytest

from app.extensions import db
from app.models import TaxRate
from app.services import commerce, pricing, tax
from tests import commerce_factories, factories


def _seller(rates, prices_include_tax=True, legal_country="SE"):
    organization = factories.make_organization(currency="EUR")
    commerce.update_settings(organization, enabled=True, fee_based=True, coupons=True)
    settings = commerce.settings_for(organization)
    settings.prices_include_tax = prices_include_tax
    settings.legal_country = legal_country
    db.session.add_all(TaxRate(organization_id=organization.id, country=c, rate_bp=r) for c, r in rates.items())
    db.session.commit()
    return organization


def _order(organization, subtotal=10000, coupon=None, **buyer):
    order = commerce_factories.make_order(organization=organization, state="pending", subtotal=subtotal,
                                          currency="EUR", **buyer)
    order.coupon_id = coupon.id if coupon else None
    tax.apply_to_order(order)
    db.session.commit()
    return order


def _amounts(order):
    return (order.discount_minor, order.tax_minor, order.included_tax_minor, order.total_minor,
            order.tax_treatment, order.tax_rate_bp)


def test_inclusive_prices_take_the_tax_out_of_the_total(app):
    order = _order(_seller({"": 2500}))

    assert _amounts(order) == (0, 0, 2000, 10000, "standard", 2500)


def test_exclusive_prices_add_the_tax_on_top(app):
    order = _order(_seller({"": 2500}, prices_include_tax=False))

    assert _amounts(order) == (0, 2500, 0, 12500, "standard", 2500)


def test_the_coupon_comes_off_before_the_tax_is_worked_out(app):
    seller = _seller({"": 2500}, prices_include_tax=False)
    coupon = commerce_factories.make_coupon(seller, kind="percent", value=20)

    order = _order(seller, coupon=coupon)

    assert _amounts(order) == (2000, 2000, 0, 10000, "standard", 2500)


def test_a_coupon_with_inclusive_prices_lowers_the_included_tax(app):
    seller = _seller({"": 2500})
    coupon = commerce_factories.make_coupon(seller, kind="fixed", value=1000)

    order = _order(seller, coupon=coupon)

    assert _amounts(order) == (1000, 0, 1800, 9000, "standard", 2500)


def test_a_rate_for_the_buyers_country_wins_over_the_default(app):
    seller = _seller({"": 2500, "DE": 1900}, prices_include_tax=False)

    german = _order(seller, buyer_country="DE")
    french = _order(seller, buyer_country="FR")

    assert (german.tax_minor, german.tax_rate_bp) == (1900, 1900)
    assert (french.tax_minor, french.tax_rate_bp) == (2500, 2500)


def test_tax_is_rounded_half_up_once(app):
    order = _order(_seller({"": 2500}, prices_include_tax=False), subtotal=1002)  # 250.5

    assert (order.tax_minor, order.total_minor) == (251, 1253)


def test_a_business_in_another_eu_country_with_a_vat_id_pays_no_vat(app):
    seller = _seller({"": 2500}, prices_include_tax=False, legal_country="SE")

    order = _order(seller, buyer_country="DE", buyer_vat_id="DE123456789")

    assert _amounts(order) == (0, 0, 0, 10000, "reverse_charge", 0)


@pytest.mark.parametrize("country, vat_id, seller_country", [
    ("SE", "SE556012345601", "SE"),  # same country: domestic sale
    ("DE", "", "SE"),  # no VAT ID: a consumer
    ("US", "US12345678", "SE"),  # outside the EU
    ("DE", "DE123456789", ""),  # the seller has not said where it is
])
def test_reverse_charge_needs_an_eu_business_abroad(app, country, vat_id, seller_country):
    seller = _seller({"": 2500}, prices_include_tax=False, legal_country=seller_country)

    order = _order(seller, buyer_country=country, buyer_vat_id=vat_id)

    assert (order.tax_treatment, order.tax_minor, order.total_minor) == ("standard", 2500, 12500)


def test_an_exemption_reference_means_zero_tax(app):
    order = _order(_seller({"": 2500}, prices_include_tax=False), tax_exemption_reference="EX-2030-7")

    assert _amounts(order) == (0, 0, 0, 10000, "exempt", 0)


def test_with_inclusive_prices_an_exempt_buyer_pays_the_price_without_the_tax_it_contains(app):
    order = _order(_seller({"": 2500}), tax_exemption_reference="EX-2030-7")

    assert _amounts(order) == (0, 0, 0, 8000, "exempt", 0)
    assert order.tax_deducted_minor == 2000


def test_with_inclusive_prices_a_reverse_charge_business_pays_net_at_its_countrys_rate(app):
    seller = _seller({"": 2500, "DE": 1900}, legal_country="SE")
    order = _order(seller, subtotal=11900, buyer_country="DE", buyer_vat_id="DE123456789")

    assert _amounts(order) == (0, 0, 0, 10000, "reverse_charge", 0)
    assert order.tax_deducted_minor == 1900


def test_the_tax_taken_off_follows_a_coupon_and_comes_back_when_the_buyer_is_taxed_again(app):
    seller = _seller({"": 2500}, legal_country="SE")
    coupon = commerce_factories.make_coupon(seller, kind="percent", value=50)
    order = _order(seller, coupon=coupon, buyer_country="FI", buyer_vat_id="FI12345678")
    assert (order.discount_minor, order.tax_deducted_minor, order.total_minor) == (5000, 1000, 4000)

    order.buyer_vat_id = ""
    tax.apply_to_order(order)
    db.session.commit()

    assert (order.tax_deducted_minor, order.included_tax_minor, order.total_minor) == (0, 1000, 5000)


def test_a_seller_without_rates_charges_no_tax(app):
    order = _order(_seller({}, prices_include_tax=False), tax_exemption_reference="EX-1")

    assert _amounts(order) == (0, 0, 0, 10000, "none", 0)


def test_other_kinds_of_order_keep_their_own_tax(app):
    seller = _seller({"": 2500}, prices_include_tax=False)
    order = commerce_factories.make_order(organization=seller, state="pending", purpose="pay_per_use",
                                          subtotal=6000, tax=600, currency="EUR")

    tax.apply_to_order(order)
    db.session.commit()

    assert _amounts(order) == (0, 600, 0, 6600, "none", 0)


def test_inclusive_and_exclusive_pricing_exact_numbers():
    assert pricing.tax_included(10000, 2500) == 2000
    assert pricing.tax_on_top(10000, 2500) == 2500
    assert pricing.tax_included(999, 2000) == 167  # 166.5 rounds up
    assert pricing.taxed_totals(10000, None, 0, False) == pricing.Totals(10000, 0, 0, 10000)


@pytest.mark.parametrize("typed, country, problem", [
    ("se 5560-1234.5601", "SE", False),
    ("EL123456789", "GR", False),
    ("GR123456789", "GR", True),  # Greece's VAT IDs start with EL
    ("DE123456789", "SE", True),  # another country's prefix
    ("123456789", "DE", True),  # no prefix
    ("SE<script>", "SE", True),
    ("CHE123456789", "CH", False),  # outside the EU only the shape is checked
])
def test_vat_ids_are_checked_for_their_shape(app, typed, country, problem):
    assert (tax.vat_id_problem(tax.normalize_vat_id(typed), country) is not None) == problem


def test_country_codes_come_from_babel_without_regions():
    assert {"SE", "DE", "FR", "US", "GR"} <= tax.country_codes()
    assert not {"EU", "ZZ", "UN", "001"} & tax.country_codes()
    assert tax.country_name("SE", "fr") == "Suède"
