"""Invoice numbers under concurrent payments: gap-free and unique per seller (PostgreSQL only;
SQLite serialises writers)."""

from app.extensions import db
from app.models import Invoice, InvoiceCounter, Order, Payment, TaxRate
from app.services import checkout, commerce, registrations
from app.services.payments.base import Capture
from tests import factories
from tests.concurrency.test_races import run_together

PAYMENTS = 20


def test_twenty_payments_at_once_get_invoice_numbers_one_to_twenty(postgresql_app):
    host = factories.make_user(role="host")
    seller = host.organization
    commerce.update_settings(seller, enabled=True, fee_based=True)
    db.session.add(TaxRate(organization_id=seller.id, country="", rate_bp=2500))
    db.session.commit()
    payment_ids = []
    for n in range(PAYMENTS):  # one session each, so only the invoice counter makes them wait
        session = factories.make_session(host, fee_minor=1000 + n, currency="EUR")
        order = registrations.register(session, f"P{n}", f"p{n}@example.com", "en", 15)
        payment = Payment(order=order, provider="paypal", method="paypal", amount_minor=order.total_minor,
                          currency="EUR", state="approved", provider_order_id=f"PP-{n}")
        db.session.add(payment)
        db.session.commit()
        payment_ids.append((payment.id, order.total_minor))
    assert db.session.get(InvoiceCounter, seller.id) is None  # the first payments make it together

    def pay(n):
        payment_id, amount = payment_ids[n]
        capture = Capture("completed", f"CAP-{n}", amount, "EUR", f"payment-{payment_id}")
        return checkout.record_capture(payment_id, capture)

    results = run_together(postgresql_app, PAYMENTS, pay)

    assert results == ["captured"] * PAYMENTS
    db.session.expire_all()
    invoices = db.session.query(Invoice).filter_by(seller_id=seller.id).all()
    assert sorted(i.number for i in invoices) == list(range(1, PAYMENTS + 1))
    assert len({i.order_id for i in invoices}) == PAYMENTS
    assert db.session.query(Order).filter_by(state="paid").count() == PAYMENTS
    assert db.session.get(InvoiceCounter, seller.id).last_number == PAYMENTS
