"""One small portal in which every route has something real to open.

Organisation A is the site under attack: a customer with an administrator, a host, a member who
bought a seat in the host's course, and one of everything the routes take an id or a token for.
Its plan was sold to it by partner P and is live. Organisation B is another customer, with its
own administrator and host and the same switches on as A, so B's people get past every "is this
switched on" check and only ownership can stop them. Organisation O runs the portal (the operator).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Attendance,
    Department,
    InvitationCampaign,
    PartnerOrder,
    Payment,
    SessionCost,
    Subscriber,
    SubscriberList,
)
from app.models.base import utcnow
from app.models.lifecycle import WaitlistEntry
from app.services import accounts, invitations, subscribers, waitlist
from app.services.order_links import make_order_token
from app.services.partner_orders import make_setup_token
from app.services.subscriptions import new_cart
from tests import commerce_factories, factories, plan_factories, subscription_factories


@dataclass
class World:
    """What the routes are filled with (all A's unless said), and who plays each role."""

    users: dict  # role -> User; "host" is A's host, who plays no role of their own
    course: object  # a paid course: registrations, orders, a personal link, a campaign
    webinar: object  # a pay-per-use session with a paid estimate, behind a room password
    paid_order: object  # the attendee's order for the course, paid through PayPal
    pending_order: object  # someone's held seat in the course, waiting for payment
    invitation: object  # the attendee's personal link into the course
    campaign: object
    coupon: object
    department: object
    subscriber_list: object
    subscriber: object
    plan: object  # the plan A bought, on sale, with one feature
    add_on: object
    feature: object
    partner_order: object  # P's order of A's plan, provisioned
    plan_invoice: object  # A's open bank-transfer invoice for its plan
    plan_payment_order: object  # A's plan order paid through PayPal
    waitlist_entry: object  # someone on the course's waitlist, offered a seat (tokens["waitlist_offer"])
    tokens: dict = field(default_factory=dict)  # what the links with tokens carry
    legal_slug: str = "terms"
    invoice: object = None  # the invoice of the attendee's paid order
    tax_rate: object = None  # A's default tax rate

    @property
    def host(self):
        return self.users["host"]

    @property
    def organization(self):
        return self.users["admin"].organization


def build_world(secret_key, paypal):
    """The world, its PayPal payments known to the fake PayPal `paypal`."""
    users = _people(paypal)
    admin, host, attendee = users["admin"], users["host"], users["attendee"]
    course, paid_order, pending_order, invitation, personal_link = _course(host, attendee)
    webinar = factories.make_session(host, title="Webinar of A", access_mode="password")
    _paid_estimate(webinar, host)
    subscriber_list = SubscriberList(organization_id=admin.organization_id, name="Newsletter of A")
    subscriber = Subscriber(subscriber_list=subscriber_list, name="Reader", email="reader@example.com")
    campaign = InvitationCampaign(session=course, subject="Invitation", body="Hello {name}: {link}",
                                  created_by_id=host.id)
    department = Department(organization=admin.organization, name="Sales of A")
    db.session.add_all([subscriber_list, subscriber, campaign, department])
    db.session.commit()
    plan, subscription, plan_invoice, plan_payment_order = _live_plan(admin, paypal)
    partner = factories.make_user(factories.make_organization(kind="partner", name="Partner"), role="admin")
    partner_order = _partner_order(partner, plan, "provisioned", admin.organization, subscription)
    awaiting_setup = _partner_order(partner, plan, "setup_sent")
    waitlist_entry, waitlist_offer = _waitlist_offer(course)
    tokens = {
        "pending_checkout": make_order_token(pending_order, secret_key),
        "paid_checkout": make_order_token(paid_order, secret_key),
        "personal_link": personal_link,
        "unsubscribe": subscribers.unsubscribe_token(subscriber, secret_key),
        "password_reset": accounts.make_reset_token(admin, secret_key, "reset"),
        "account_setup": accounts.make_reset_token(attendee, secret_key, "setup"),
        "partner_setup": make_setup_token(awaiting_setup, secret_key),
        "waitlist_offer": waitlist_offer,
        "cancel_registration": _cancel_link(paid_order),
    }
    return World(
        users=users, course=course, webinar=webinar, paid_order=paid_order, pending_order=pending_order,
        invitation=invitation, campaign=campaign, coupon=commerce_factories.make_coupon(admin.organization),
        department=department, subscriber_list=subscriber_list, subscriber=subscriber, plan=plan,
        add_on=plan_factories.make_add_on(), feature=plan.features[0].feature, partner_order=partner_order,
        plan_invoice=plan_invoice, plan_payment_order=plan_payment_order, waitlist_entry=waitlist_entry,
        tokens=tokens, invoice=_invoice(paid_order), tax_rate=_tax_rate(admin.organization),
    )


def _tax_rate(organization):
    from app.models import TaxRate

    rate = TaxRate(organization_id=organization.id, country="", rate_bp=2500)
    db.session.add(rate)
    db.session.commit()
    return rate


def _invoice(order):
    """The invoice of A's paid course order, as paying it issued."""
    from app.services import invoicing

    invoice = invoicing.issue_invoice(order, order.paid_at or utcnow())
    db.session.commit()
    return invoice


def _people(paypal):
    a_admin, a_host, a_member = _organisation(paypal, "A", ("admin", "host", "member"))
    b_admin, b_host = _organisation(paypal, "B", ("admin", "host"))
    operator = factories.make_user(factories.make_organization(is_operator=True, name="Operator"), role="admin")
    return {"attendee": a_member, "other_host": b_host, "other_admin": b_admin, "operator": operator,
            "admin": a_admin, "host": a_host}


def _organisation(paypal, letter, roles):
    """A customer site with every e-commerce switch on and PayPal pointing at the fake."""
    organization = factories.make_organization(name=f"Organisation {letter}", currency="EUR")
    commerce_factories.switch_on(
        organization, fee_based=True, coupons=True, pay_per_use=True, bank_transfer_enabled=True,
        paypal_enabled=True, paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
        paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
        person_minute_rate=Decimal("10"), teleconference_minute_rate=Decimal("5"),
    )
    return [factories.make_user(organization, role=role, name=f"{role.title()} of {letter}") for role in roles]


def _course(host, attendee):
    """The course, the attendee's paid order with its personal link, and a held seat."""
    course = factories.make_session(host, fee_minor=4900, title="Course of A")
    paid_order = commerce_factories.make_order(course, subtotal=course.fee_minor, buyer_name=attendee.name,
                                               buyer_email=attendee.email)
    registration = commerce_factories.make_registration(paid_order, email=attendee.email)
    paid_order.payments = [Payment(provider="paypal", amount_minor=paid_order.total_minor, currency="EUR",
                                   state="captured", provider_order_id="PAYPAL-COURSE-A")]
    hold_ends = utcnow() + timedelta(minutes=15)
    pending_order = commerce_factories.make_order(course, state="pending", subtotal=course.fee_minor,
                                                  expires_at=hold_ends)
    commerce_factories.make_registration(pending_order, state="held", hold_expires_at=hold_ends)
    invitation, personal_link = invitations.new_invitation(course, attendee.name, attendee.email, registration)
    db.session.commit()
    return course, paid_order, pending_order, invitation, personal_link


def _waitlist_offer(course):
    """Someone on the course's waitlist with an open offer: the entry and its link's token."""
    entry = WaitlistEntry(session=course, name="Waiting", email="waiting@example.com", locale="en")
    db.session.add(entry)
    token = waitlist.make_offer(entry, utcnow())
    db.session.commit()
    return entry, token


def _cancel_link(paid_order):
    """The attendee's one-time cancel link (from their confirmation email); the course lets
    attendees cancel until a day before with everything back."""
    from secrets import token_urlsafe

    token = token_urlsafe(32)
    paid_order.registration.cancel_token_hash = invitations.hash_token(token)
    paid_order.session.cancellation_policy = '[{"hours_before": 24, "refund_percent": 100}]'
    paid_order.payments[0].capture_id = "CAPTURE-COURSE-A"  # unknown to the fake: refunds are retried
    db.session.commit()
    return token


def _paid_estimate(session, host):
    """The host paid for the session's estimated cost; someone joined."""
    order = commerce_factories.make_order(session, purpose="pay_per_use", subtotal=6000)
    db.session.add_all([
        SessionCost(session_id=session.id, host_id=host.id, duration_min=60, computers=10,
                    teleconference_computers=0, person_rate=Decimal("10"), teleconference_rate=Decimal("5"),
                    currency="EUR", total_minor=6000, order_id=order.id, state="paid", paid_at=utcnow()),
        Attendance(session_id=session.id, name="Someone", email="someone@example.com", via="password"),
    ])
    db.session.commit()


def _live_plan(admin, paypal):
    """A's active subscription, an open invoice for it and an order paid through PayPal."""
    plan = plan_factories.make_plan(features=[("Recording", "")])
    subscription = subscription_factories.make_subscription(
        plan, buyer=admin, cycle="annual", period_start=utcnow() - timedelta(days=10), paypal=paypal,
    )
    invoice = plan_factories.make_invoice(subscription, billing="purchase")
    invoice.expires_at = utcnow() + timedelta(days=14)
    paid = plan_factories.make_invoice(subscription, billing="licenses:1", state="paid", provider="paypal",
                                       payment_state="captured")
    paid.payments[0].provider_order_id = "PAYPAL-PLAN-A"
    db.session.commit()
    return plan, subscription, invoice, paid


def _partner_order(partner, plan, state, customer=None, subscription=None):
    order = PartnerOrder(
        code=f"P-{state.upper()}", partner=partner.organization, partner_name=partner.organization.name,
        placed_by=partner, plan=plan, cycle="annual", licenses=2, customer_name="Customer",
        requested_start_on=date.today(), contact_email=partner.email, state=state,
        set_up_by_email=partner.email if customer else None, customer=customer, subscription=subscription,
    )
    db.session.add(order)
    db.session.commit()
    return order


def plan_cart(world):
    """What pressing *Buy now* on the world's plan leaves in a visitor's session."""
    return new_cart(world.plan.code)


def table_rows():
    """Every row of every table, to show that a refused request wrote nothing."""
    db.session.rollback()
    rows = {
        table.name: db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        for table in db.metadata.sorted_tables
    }
    db.session.rollback()
    return rows


def changed_tables(before, after):
    return sorted(name for name in before if before[name] != after[name])
