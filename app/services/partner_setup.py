"""The partner setup wizard's rules: which steps a "Set up now" link goes through, handing the
setup to someone else, and completing it.

The wizard writes nothing while it runs: its answers travel in a signed form field (see
blueprints/partners/wizard_views.py). Only two things write, each in one transaction:
  hand_off        "another person in my company" / "the customer": one email with a fresh link
  complete_setup  the last step: partner organisation (first order), customer organisation and
                  its administrator, the pending subscription, and the order -> in_setup
Two people finishing the same order at once: the order's row lock lets one through; the other
finds it no longer awaiting setup and is told so.

answers (all strings):
  role           "partner" | "customer"        (who is setting up)
  who            "me" | "colleague" | "customer" (partner path: who sets up)
  partner_name, your_name                      (partner path, first order: the new partner organisation)
  admin_email, admin_name                      (the customer's administrator; in the customer path, the
                                                person setting up)
  customer_name, locale, timezone, currency    (the customer's organisation)
"""

import re
import secrets
import unicodedata
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.i18n import is_valid_timezone
from app.models import AddOn, Organization, PartnerOrder, Subscription, SubscriptionAddOn, User
from app.services import plan_pricing
from app.services.accounts import hash_password, normalize_email
from app.services.locks import lock_row
from app.services.mail import queue_mail
from app.services.money import SITE_CURRENCIES
from app.services.partner_orders import (
    AWAITING_SETUP,
    PartnerOrderError,
    send_setup_link,
    user_in_other_organization,
)
from app.services.subscriptions import RESERVED_SUBDOMAINS, SUBDOMAIN, free_variant

ROLES = ("partner", "customer")
WHO = ("me", "colleague", "customer")
STEPS = ("role", "who", "partner", "admin", "customer", "review", "password")

ONE_ORGANIZATION = _l("This email address already belongs to a user of another organisation. "
                      "A user belongs to exactly one organisation.")


# The steps ------------------------------------------------------------------------------------


def role_of(handoff, answers):
    """Who is setting up: a link handed to the customer is the customer's, one handed to a
    colleague is the partner's; the contact says which they are (partner until they say)."""
    if handoff == "customer":
        return "customer"
    if handoff == "colleague":
        return "partner"
    return "customer" if answers.get("role") == "customer" else "partner"


def steps_for(handoff, answers, partner_exists):
    """The wizard's steps for this link and these answers, in order.

    Partner: role, who sets up, partner organisation, customer administrator, customer details,
    review, and a password when the partner organisation is new. Choosing another person or the
    customer ends the wizard at "who" (they get their own link). The customer: role, their own
    administrator account, customer details, review, password."""
    steps = ["role"] if handoff == "contact" else []
    if role_of(handoff, answers) == "customer":
        return steps + ["admin", "customer", "review", "password"]
    if handoff != "colleague":
        steps.append("who")
        if answers.get("who") in ("colleague", "customer"):
            return steps
    steps += ["partner", "admin", "customer", "review"]
    if not partner_exists:
        steps.append("password")
    return steps


def partner_manages(handoff, answers):
    return role_of(handoff, answers) == "partner"


def setter_is_new_user(handoff, answers, partner_exists):
    """Whether finishing creates an account for the person setting up (who then sets a password)."""
    return role_of(handoff, answers) == "customer" or not partner_exists


def admin_email_problem(email, partner_admin_email=None):
    """Why this address cannot be the customer's administrator, or None. A user belongs to
    exactly one organisation, and the customer's is new."""
    email = normalize_email(email or "")
    if partner_admin_email and email == normalize_email(partner_admin_email):
        return _l("This is your own address, which will belong to your partner organisation. "
                  "The customer's administrator needs an address of their own.")
    if user_in_other_organization(email) is not None:
        return ONE_ORGANIZATION
    return None


def subdomain_label(name):
    """A site URL label made from a name: 'Åkessons Bygg AB' -> 'akessons-bygg-ab'."""
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    label = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:50].strip("-")
    if len(label) < 3:
        label = f"{label}-site".strip("-")
    if not SUBDOMAIN.match(label) or label in RESERVED_SUBDOMAINS:
        label = f"{label}-site" if SUBDOMAIN.match(f"{label}-site") else "site"
    return label


# Handing the setup to someone else --------------------------------------------------------------


def hand_off(order_id, handoff, email, link_for, locale="en"):
    """Email a fresh setup link to a colleague of the partner or to the customer. Nothing else
    is written: the order keeps waiting for its setup. One transaction."""
    if handoff not in ("colleague", "customer"):
        raise ValueError(handoff)
    order = lock_row(PartnerOrder, order_id)
    _refuse_unless_awaiting(order)
    send_setup_link(order, link_for, handoff=handoff, email=normalize_email(email), locale=locale)
    db.session.commit()
    return order


# Completing the setup ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupDone:
    order: PartnerOrder
    customer: Organization
    subscription: Subscription
    partner: Organization | None  # None when the customer set up a new partner's first order
    setter: User  # the person who set it up (a new account when they chose a password)
    administrator: User  # the customer organisation's administrator


def complete_setup(order_id, answers, password, setter_email, now, *, locale="en",
                   invite_url_for=None, invite_valid_days=7):
    """Create everything the wizard collected, in one transaction, and move the order to in_setup.

    `setter_email`: the person finishing the wizard (the link's recipient for a new partner
    organisation, the signed-in partner user for an existing one, the administrator's address in
    the customer path). `password`: for the account this creates for them (None otherwise).
    `invite_url_for(user)`: the "choose your password" link for a customer administrator set up
    by the partner. `locale`: the language of the person setting up (their new account's).
    Raises PartnerOrderError, whose `field` names the answer at fault ("order" when the order is
    no longer waiting for its setup)."""
    role = answers.get("role")
    if role not in ROLES:
        raise PartnerOrderError(_l("Some answers are missing. Please start again from your setup link."))
    setter_email = normalize_email(setter_email or "")
    admin_email = normalize_email(answers.get("admin_email", ""))
    # Hashing is slow on purpose: do it before taking the lock. The administrator the partner
    # sets up gets an unusable password until they choose one from their email.
    password_hash = hash_password(password) if password else None
    unusable_hash = hash_password(secrets.token_urlsafe(32)) if role == "partner" else None

    order = lock_row(PartnerOrder, order_id)
    _refuse_unless_awaiting(order)
    _check_answers(order, answers, admin_email)
    try:
        partner, setter = _partner_side(order, answers, role, setter_email, admin_email, password_hash, locale)
        customer = Organization(
            kind="customer", name=answers["customer_name"].strip(),
            subdomain=free_variant(subdomain_label(answers["customer_name"]), None),
            locale=answers["locale"], timezone=answers["timezone"], currency=answers["currency"],
        )
        db.session.add(customer)
        if role == "customer":
            if password_hash is None:
                _refuse(_l("Choose a password."), "password")
            administrator = User(
                email=admin_email, name=answers["admin_name"].strip(), password_hash=password_hash,
                organization=customer, role="admin", locale=locale,
            )
            setter = administrator
        else:
            administrator = User(
                email=admin_email, name=answers["admin_name"].strip(),
                password_hash=unusable_hash,
                organization=customer, role="admin", locale=answers["locale"],
            )
        db.session.add(administrator)
        db.session.flush()
        if role == "partner":
            _invite(administrator, customer, invite_url_for, invite_valid_days)
        subscription = _pending_subscription(order, customer, administrator if role == "customer" else setter,
                                             answers, now)
        order.state, order.set_up_by_email, order.set_up_at = "in_setup", setter.email, now
        order.partner_manages = role == "partner"
        order.customer = customer
        order.subscription = subscription
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise _conflict_after_race(answers, admin_email) from error
    return SetupDone(order, customer, subscription, partner, setter, administrator)


def _refuse(message, field=None):
    db.session.rollback()
    raise PartnerOrderError(message, field)


def _refuse_unless_awaiting(order):
    if order.state == "canceled":
        _refuse(_l("This order has been canceled."), "order")
    if order.state not in AWAITING_SETUP:
        _refuse(_l("This order has just been set up by someone else."), "order")


def _check_answers(order, answers, admin_email):
    """The answers were checked step by step; check them again now that the order is locked
    (an address may have become a user's since)."""
    if not admin_email or len(admin_email) > 254 or "@" not in admin_email:
        _refuse(_l("Enter a valid email address."), "admin_email")
    if user_in_other_organization(admin_email) is not None:
        _refuse(ONE_ORGANIZATION, "admin_email")
    for name, limit in (("admin_name", 200), ("customer_name", 200)):
        value = (answers.get(name) or "").strip()
        if not value or len(value) > limit:
            _refuse(_l("This field is required."), name)
    if answers.get("locale") not in current_app.config["LOCALES"]:
        _refuse(_l("Not a valid choice."), "locale")
    if not is_valid_timezone(answers.get("timezone")):
        _refuse(_l("Not a valid choice."), "timezone")
    if answers.get("currency") not in SITE_CURRENCIES:
        _refuse(_l("Not a valid choice."), "currency")
    if order.plan is None:
        _refuse(_l("This order cannot be set up. Please contact your account representative."), "order")


def _partner_side(order, answers, role, setter_email, admin_email, password_hash, locale):
    """The partner organisation (created on a first order the partner sets up) and, in the
    partner path, the person setting up. Returns (partner or None, setter or None)."""
    partner = order.partner
    if role == "customer":
        return partner, None
    if answers.get("who", "me") != "me":
        _refuse(_l("Some answers are missing. Please start again from your setup link."))
    if partner is not None:
        setter = db.session.scalars(select(User).where(User.email == setter_email)).first()
        if setter is None or setter.organization_id != partner.id:
            _refuse(_l("Sign in with your account at %(partner)s to set up this order.", partner=partner.name),
                    "sign_in")
        return partner, setter
    partner_name, your_name = (answers.get("partner_name") or "").strip(), (answers.get("your_name") or "").strip()
    if not partner_name or not your_name:
        _refuse(_l("Some answers are missing. Please start again from your setup link."), "partner_name")
    if password_hash is None:
        _refuse(_l("Choose a password."), "password")
    if setter_email == admin_email:
        _refuse(admin_email_problem(admin_email, setter_email), "admin_email")
    if user_in_other_organization(setter_email) is not None:
        _refuse(_l("Your email address %(email)s already belongs to a user of another organisation, and a user "
                   "belongs to exactly one organisation. Go back and let another person in your company set "
                   "up the order.", email=setter_email), "partner")
    partner = Organization(
        kind="partner", name=partner_name, subdomain=free_variant(subdomain_label(partner_name), None),
        locale=locale, timezone=answers.get("timezone") or "UTC",
    )
    setter = User(email=setter_email, name=your_name, password_hash=password_hash, organization=partner,
                  role="admin", locale=locale)
    db.session.add_all([partner, setter])
    db.session.flush()  # the customer's site URL must not take the partner's
    order.partner = partner
    order.partner_name = partner_name
    return partner, setter


def _invite(administrator, customer, invite_url_for, valid_days):
    """The partner set the customer up: their administrator chooses a password from an email."""
    if invite_url_for is None:
        invite_url_for = _default_invite_url
    queue_mail(
        administrator.email, customer.locale, "member_invitation",
        subject=_l("You have been added to %(organization)s on Lectern", organization=customer.name),
        user=administrator, organization=customer, setup_url=invite_url_for(administrator),
        valid_days=valid_days,
    )


def _default_invite_url(user):
    from app.services.accounts import make_reset_token
    from app.web import external_url

    return external_url("auth.set_password",
                        token=make_reset_token(user, current_app.config["SECRET_KEY"], "setup"))


def _pending_subscription(order, customer, buyer, answers, now):
    """Not billing yet: Provision (the service setup's last step) activates it."""
    plan, cycle = order.plan, order.cycle
    address = "\n".join([customer.name, answers["admin_name"].strip(), normalize_email(answers["admin_email"])])
    subscription = Subscription(
        organization=customer, plan=plan, buyer=buyer, cycle=cycle, licenses=order.licenses,
        license_price_minor=plan_pricing.license_price(plan, cycle), currency=plan.currency,
        auto_renew=True, payment_method="bank_transfer", state="pending", site_subdomain=customer.subdomain,
        billing_address=address, service_address=address, calling_plan="computer_audio",
        terms_accepted_at=now,
    )
    codes = order.add_on_code_list
    add_ons = db.session.scalars(select(AddOn).where(AddOn.code.in_(codes)).order_by(AddOn.position, AddOn.id)).all() \
        if codes else []
    subscription.add_ons = [
        SubscriptionAddOn(add_on=add_on, price_minor=plan_pricing.add_on_price(add_on, cycle)) for add_on in add_ons
    ]
    db.session.add(subscription)
    db.session.flush()
    return subscription


def _conflict_after_race(answers, admin_email):
    """Someone took an address (or a site URL) between our checks and our commit."""
    if user_in_other_organization(admin_email) is not None:
        return PartnerOrderError(ONE_ORGANIZATION, "admin_email")
    # The order's lock rules out a second setup; what is left is an address or a site URL.
    return PartnerOrderError(_l("Someone else has just used one of these details. Please check them and try again."))
