"""The IDOR matrix: every route and method, what each role gets when it opens organisation A's
objects, and where the route's URL parameters come from in the world (tests/security/world.py).

Columns, in order (test_route_matrix.py says why the attendee is who they are):
  anonymous    nobody signed in
  attendee     a `member` of A who bought a seat in A's course (the lowest role, same organisation)
  other_host   B's host opening A's objects
  other_admin  B's administrator opening A's objects
  operator     the administrator of the organisation that runs the portal (plans, partner orders)
  admin        A's administrator: the owner of nearly everything here

A cell is a status code, or SIGN_IN for a redirect to the sign-in page. POSTs send an empty form
with a valid CSRF token, so a refusal comes from authorisation alone; the owner's answer shows the
route let them in (422: the empty form was refused; 302: it acted or sent them on). Only a row's
owner (A's administrator unless it says otherwise) may change anything, and only with a POST.

Token-bearing URLs (/checkout/<token>, /j/<token>, /c/<token>, /unsubscribe/<token>, reset and setup links)
are capabilities: whoever holds the link gets the same answer, signed in as anyone. They are
filled with A's real tokens; test_route_matrix checks that forged ones open nothing.
"""

from dataclasses import dataclass, field
from functools import cache

from app import create_app

SIGN_IN = "sign in"
ROLES = ("anonymous", "attendee", "other_host", "other_admin", "operator", "admin")
REFUSALS = (SIGN_IN, 400, 403, 404, 405)

# Where a URL parameter comes from, unless a row says otherwise (dotted paths into the World).
PARAMETERS = {
    "session_id": "course.id", "order_id": "paid_order.id", "coupon_id": "coupon.id",
    "department_id": "department.id", "user_id": "host.id", "list_id": "subscriber_list.id",
    "subscriber_id": "subscriber.id", "invitation_id": "invitation.id", "campaign_id": "campaign.id",
    "plan_id": "plan.id", "add_on_id": "add_on.id", "feature_id": "feature.id", "slug": "legal_slug",
    "organization_id": "organization.id", "token": "tokens.pending_checkout",
    "entry_id": "waitlist_entry.id",
    "invoice_id": "invoice.id", "rate_id": "tax_rate.id",
}
WEBINAR = {"session_id": "webinar.id"}  # the pay-per-use session with a paid estimate
PARTNER_ORDER = {"order_id": "partner_order.id"}
PLAN_INVOICE = {"order_id": "plan_invoice.id"}
PLAN_PAYMENT = {"order_id": "plan_payment_order.id"}


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    expected: dict  # role -> status or SIGN_IN
    parameters: dict = field(default_factory=dict)  # overrides of PARAMETERS
    query: dict = field(default_factory=dict)  # query string values, as dotted paths too
    owner: str = "admin"  # the role whose objects these are (may write; signs the CSRF test's posts)
    anyone_may_write: bool = False  # a capability: every holder of the link may change things

    @property
    def id(self):
        return f"{self.method} {self.endpoint}"


def route(endpoint, method, statuses, parameters=None, **options):
    return Route(endpoint, method, dict(zip(ROLES, statuses, strict=True)), parameters or {}, **options)


IN = SIGN_IN
OPERATOR = {"owner": "operator"}

MATRIX = [
    # endpoint                              method  anonymous attendee other_host other_admin operator admin
    route("main.home",                      "GET",  (200, 200, 200, 200, 200, 200)),
    route("main.choose_language",           "POST", (400, 400, 400, 400, 400, 400)),  # no language chosen

    route("auth.sign_up",                   "GET",  (200, 302, 302, 302, 302, 302)),
    route("auth.sign_up",                   "POST", (422, 302, 302, 302, 302, 302)),
    route("auth.sign_in",                   "GET",  (200, 302, 302, 302, 302, 302)),
    route("auth.sign_in",                   "POST", (422, 302, 302, 302, 302, 302)),
    route("auth.sign_out",                  "POST", (IN, 302, 302, 302, 302, 302)),
    route("auth.forgot_password",           "GET",  (200, 200, 200, 200, 200, 200)),
    route("auth.forgot_password",           "POST", (422, 422, 422, 422, 422, 422)),
    route("auth.reset_password",            "GET",  (200, 200, 200, 200, 200, 200), {"token": "tokens.password_reset"}),
    route("auth.reset_password",            "POST", (422, 422, 422, 422, 422, 422), {"token": "tokens.password_reset"}),
    route("auth.set_password",              "GET",  (200, 200, 200, 200, 200, 200), {"token": "tokens.account_setup"}),
    route("auth.set_password",              "POST", (422, 422, 422, 422, 422, 422), {"token": "tokens.account_setup"}),

    route("account.profile",                "GET",  (IN, 200, 200, 200, 200, 200)),
    route("account.profile",                "POST", (IN, 422, 422, 422, 422, 422)),
    route("account.change_password",        "GET",  (IN, 200, 200, 200, 200, 200)),
    route("account.change_password",        "POST", (IN, 422, 422, 422, 422, 422)),

    route("admin.index",                    "GET",  (IN, 403, 403, 302, 302, 302)),
    route("admin.people",                   "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.people",                   "POST", (IN, 403, 403, 422, 422, 422)),
    route("admin.update_member",            "POST", (IN, 403, 403, 404, 404, 422)),
    route("admin.departments",              "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.departments",              "POST", (IN, 403, 403, 422, 422, 422)),
    route("admin.delete_department",        "POST", (IN, 403, 403, 404, 404, 302)),
    route("admin.organization",             "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.organization",             "POST", (IN, 403, 403, 422, 422, 422)),
    route("admin.commerce_settings",        "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.commerce_settings",        "POST", (IN, 403, 403, 422, 422, 422)),
    route("admin.invoicing_settings",       "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.invoicing_settings",       "POST", (IN, 403, 403, 422, 422, 422)),
    route("admin.save_tax_rate",            "POST", (IN, 403, 403, 422, 422, 422)),
    route("admin.delete_tax_rate",          "POST", (IN, 403, 403, 404, 404, 302)),
    route("admin.invoices",                 "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.invoice_pdf",              "GET",  (IN, 403, 403, 404, 404, 200)),
    # Coupon pages exist only where coupons are switched on (the operator's site has none).
    route("admin.coupons",                  "GET",  (IN, 403, 403, 200, 404, 200)),
    route("admin.coupons",                  "POST", (IN, 403, 403, 422, 404, 422)),
    route("admin.set_coupon_active",        "POST", (IN, 403, 403, 404, 404, 400)),  # no "active" value
    route("admin.generate_coupons",         "GET",  (IN, 403, 403, 200, 404, 200)),
    route("admin.generate_coupons",         "POST", (IN, 403, 403, 422, 404, 422)),
    route("admin.export_coupons",           "GET",  (IN, 403, 403, 200, 404, 200)),
    route("admin.orders",                   "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.export_orders",            "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.revenue",                  "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.export_revenue",           "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.spend",                    "GET",  (IN, 403, 403, 200, 200, 200)),
    route("admin.export_spend",             "GET",  (IN, 403, 403, 200, 200, 200)),

    route("scheduling.my_sessions",         "GET",  (IN, 403, 200, 200, 200, 200)),
    route("scheduling.new_session",         "GET",  (IN, 403, 200, 200, 200, 200)),
    route("scheduling.new_session",         "POST", (IN, 403, 422, 422, 422, 422)),
    route("scheduling.edit_session",        "GET",  (IN, 403, 404, 404, 404, 200)),
    route("scheduling.edit_session",        "POST", (IN, 403, 404, 404, 404, 422)),
    route("scheduling.cancel_session",      "POST", (IN, 403, 404, 404, 404, 302)),  # box not ticked
    route("scheduling.session_orders",      "GET",  (IN, 403, 404, 404, 404, 200)),
    route("scheduling.session_orders_csv",  "GET",  (IN, 403, 404, 404, 404, 200)),
    route("scheduling.refund",              "POST", (IN, 403, 404, 404, 404, 302)),  # no amount
    route("scheduling.mark_paid",           "POST", (IN, 403, 404, 404, 404, 302)),  # already paid
    route("scheduling.public_page",         "GET",  (200, 200, 200, 200, 200, 200), {"slug": "course.slug"}),
    route("scheduling.register",            "GET",  (200, 200, 200, 200, 200, 200), {"slug": "course.slug"}),
    route("scheduling.register",            "POST", (422, 422, 422, 422, 422, 422), {"slug": "course.slug"}),

    route("waitlist.join",                  "POST", (422, 422, 422, 422, 422, 422), {"slug": "course.slug"}),
    # The offer link is a capability like /checkout/<token>: taking the seat is open to its holder.
    route("waitlist.offer",                 "GET",  (200, 200, 200, 200, 200, 200), {"token": "tokens.waitlist_offer"}),
    route("waitlist.offer",                 "POST", (302, 302, 302, 302, 302, 302), {"token": "tokens.waitlist_offer"},
          anyone_may_write=True),
    route("waitlist.host_list",             "GET",  (IN, 403, 404, 404, 404, 200)),
    route("waitlist.promote",               "POST", (IN, 403, 404, 404, 404, 302)),  # already offered
    route("waitlist.remove",                "POST", (IN, 403, 404, 404, 404, 302)),

    route("cost.estimate",                  "GET",  (IN, 403, 404, 404, 404, 200), WEBINAR),
    route("cost.preview",                   "POST", (IN, 403, 404, 404, 404, 422), WEBINAR),
    route("cost.pay",                       "POST", (IN, 403, 404, 404, 404, 422), WEBINAR),
    route("cost.settlement",                "GET",  (IN, 403, 404, 404, 404, 200), WEBINAR),
    route("cost.settlement",                "POST", (IN, 403, 404, 404, 404, 409), WEBINAR),  # not ended

    route("checkout.payment",               "GET",  (200, 200, 200, 200, 200, 200)),
    route("checkout.apply_coupon",          "POST", (422, 422, 422, 422, 422, 422)),
    route("checkout.remove_coupon",         "POST", (302, 302, 302, 302, 302, 302)),
    route("checkout.extend_hold",           "POST", (302, 302, 302, 302, 302, 302), anyone_may_write=True),
    route("checkout.billing",               "POST", (302, 302, 302, 302, 302, 302), anyone_may_write=True),
    route("checkout.pay",                   "POST", (422, 422, 422, 422, 422, 422)),
    route("checkout.provider_cancel",       "GET",  (302, 302, 302, 302, 302, 302)),
    route("checkout.provider_return",       "GET",  (302, 302, 302, 302, 302, 302),
          {"token": "tokens.paid_checkout"}, query={"token": "paid_order.payments.0.provider_order_id"}),
    route("checkout.receipt",               "GET",  (200, 200, 200, 200, 200, 200)),
    # The one-time cancel link of A's attendee: it cancels (with a refund, retried here) for its holder.
    route("cancellations.cancel",           "GET",  (200, 200, 200, 200, 200, 200), {"token": "tokens.cancel_registration"}),
    route("cancellations.cancel",           "POST", (200, 200, 200, 200, 200, 200), {"token": "tokens.cancel_registration"},
          anyone_may_write=True),
    route("checkout.document",              "GET",  (200, 200, 200, 200, 200, 200), {"token": "tokens.paid_checkout"}),

    route("invitations.links",              "GET",  (IN, 403, 404, 404, 404, 200)),
    route("invitations.links",              "POST", (IN, 403, 404, 404, 404, 422)),
    route("invitations.revoke",             "POST", (IN, 403, 404, 404, 404, 302)),
    route("invitations.reissue",            "POST", (IN, 403, 404, 404, 404, 200)),
    route("invitations.room_password",      "POST", (IN, 403, 404, 404, 404, 302)),
    route("invitations.attendance",         "GET",  (IN, 403, 404, 404, 404, 200)),
    route("invitations.email_invitations",  "GET",  (IN, 403, 404, 404, 404, 200)),
    route("invitations.email_invitations",  "POST", (IN, 403, 404, 404, 404, 422)),
    route("invitations.campaign",           "GET",  (IN, 403, 404, 404, 404, 200)),
    route("invitations.resend_campaign",    "POST", (IN, 403, 404, 404, 404, 302)),
    route("invitations.lists",              "GET",  (IN, 403, 200, 200, 200, 200)),
    route("invitations.lists",              "POST", (IN, 403, 422, 422, 422, 422)),
    route("invitations.subscriber_list",    "GET",  (IN, 403, 404, 404, 404, 200)),
    route("invitations.add_subscriber",     "POST", (IN, 403, 404, 404, 404, 422)),
    route("invitations.remove_subscriber",  "POST", (IN, 403, 404, 404, 404, 302)),
    route("invitations.import_subscribers", "GET",  (IN, 403, 404, 404, 404, 200)),
    route("invitations.import_subscribers", "POST", (IN, 403, 404, 404, 404, 422)),
    route("invitations.delete_list",        "POST", (IN, 403, 404, 404, 404, 302)),
    route("invitations.unsubscribe",        "GET",  (200, 200, 200, 200, 200, 200), {"token": "tokens.unsubscribe"}),
    route("invitations.unsubscribe",        "POST", (302, 302, 302, 302, 302, 302), {"token": "tokens.unsubscribe"},
          anyone_may_write=True),

    # Before the join window the gate answers with a "not open yet" page (and records the opening).
    route("join.personal_link",             "GET",  (200, 200, 200, 200, 200, 200), {"token": "tokens.personal_link"},
          anyone_may_write=True),
    route("join.door",                      "GET",  (200, 200, 200, 200, 200, 200), {"slug": "webinar.slug"}),
    route("join.door",                      "POST", (422, 422, 422, 422, 422, 422), {"slug": "webinar.slug"}),

    route("plans.pricing",                  "GET",  (200, 200, 200, 200, 200, 200)),
    route("plans.start_cart",               "POST", (302, 302, 302, 302, 302, 302)),  # no plan chosen
    route("plans.cart",                     "GET",  (200, 200, 200, 200, 200, 200)),
    route("plans.update_cart",              "POST", (422, 422, 422, 422, 422, 422)),
    route("plans.contact_sales",            "GET",  (200, 200, 200, 200, 200, 200)),
    route("plans.contact_sales",            "POST", (422, 422, 422, 422, 422, 422)),
    # Only administrators of customer sites buy; A's plan is live (302 to its subscription page).
    route("plans.checkout_page",            "GET",  (200, 403, 403, 200, 403, 302)),
    route("plans.checkout_page",            "POST", (200, 403, 403, 422, 403, 302)),
    route("plans.account_lookup",           "POST", (422, 422, 422, 422, 422, 422)),
    route("plans.check_site_url",           "GET",  (IN, 200, 200, 200, 200, 200)),
    route("plans.order",                    "GET",  (IN, 403, 403, 404, 404, 200), PLAN_INVOICE),
    route("plans.pay_order",                "POST", (IN, 403, 403, 404, 404, 302), PLAN_INVOICE),
    route("plans.paypal_return",            "GET",  (IN, 403, 403, 404, 404, 302), PLAN_PAYMENT,
          query={"token": "plan_payment_order.payments.0.provider_order_id"}),
    route("plans.paypal_cancel",            "GET",  (IN, 403, 403, 404, 404, 302), PLAN_PAYMENT),
    # The subscription pages are always the signed-in administrator's own organisation's.
    route("plans.subscription",             "GET",  (IN, 403, 403, 200, 200, 200)),
    route("plans.set_auto_renew",           "POST", (IN, 403, 403, 302, 302, 302)),
    route("plans.license_quote",            "POST", (IN, 403, 403, 302, 302, 422)),
    route("plans.add_licenses",             "POST", (IN, 403, 403, 302, 302, 422)),
    route("plans.reduce_licenses",          "POST", (IN, 403, 403, 302, 302, 422)),
    route("plans.request_porting",          "POST", (IN, 403, 403, 302, 302, 422)),
    route("plans.legal_page",               "GET",  (200, 200, 200, 200, 200, 200)),

    route("plans.manage",                   "GET",  (IN, 403, 403, 403, 302, 403), **OPERATOR),
    route("plans.manage_plans",             "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_new_plan",          "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_new_plan",          "POST", (IN, 403, 403, 403, 422, 403), **OPERATOR),
    route("plans.manage_plan",              "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_plan",              "POST", (IN, 403, 403, 403, 422, 403), **OPERATOR),
    route("plans.manage_plan_features",     "POST", (IN, 403, 403, 403, 302, 403), **OPERATOR),
    route("plans.manage_delete_plan",       "POST", (IN, 403, 403, 403, 302, 403), **OPERATOR),  # it was sold
    route("plans.manage_features",          "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_features",          "POST", (IN, 403, 403, 403, 422, 403), **OPERATOR),
    route("plans.manage_feature",           "POST", (IN, 403, 403, 403, 422, 403), **OPERATOR),
    route("plans.manage_remove_feature",    "POST", (IN, 403, 403, 403, 302, 403), **OPERATOR),
    route("plans.manage_add_ons",           "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_new_add_on",        "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_new_add_on",        "POST", (IN, 403, 403, 403, 422, 403), **OPERATOR),
    route("plans.manage_add_on",            "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_add_on",            "POST", (IN, 403, 403, 403, 422, 403), **OPERATOR),
    route("plans.manage_legal_pages",       "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_legal_page",        "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_legal_page",        "POST", (IN, 403, 403, 403, 302, 403), **OPERATOR),
    route("plans.manage_subscriptions",     "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_mark_invoice_paid", "POST", (IN, 403, 403, 403, 302, 403), PLAN_INVOICE, **OPERATOR),
    route("plans.manage_sales_requests",    "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("plans.manage_export_sales_requests", "GET", (IN, 403, 403, 403, 200, 403), **OPERATOR),

    # Partner orders: for partners and the operator. A's order was provisioned: A's administrator
    # sees the done page; the operator may look but not provision.
    route("partners.orders",                "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("partners.new_order",             "GET",  (IN, 403, 403, 403, 200, 403), **OPERATOR),
    route("partners.new_order",             "POST", (IN, 403, 403, 403, 422, 403), **OPERATOR),
    route("partners.resend",                "POST", (IN, 403, 403, 403, 302, 403), PARTNER_ORDER, **OPERATOR),
    route("partners.service_setup",         "GET",  (IN, 404, 404, 404, 200, 200), PARTNER_ORDER),
    route("partners.service_setup",         "POST", (IN, 404, 404, 404, 302, 302), PARTNER_ORDER),
    route("partners.check_subdomain",       "GET",  (IN, 404, 404, 404, 200, 200), PARTNER_ORDER),
    route("partners.provision",             "POST", (IN, 404, 404, 404, 403, 302), PARTNER_ORDER),
    route("partners.setup",                 "GET",  (200, 200, 200, 200, 200, 200), {"token": "tokens.partner_setup"}),
    route("partners.setup",                 "POST", (400, 400, 400, 400, 400, 400), {"token": "tokens.partner_setup"}),
    route("partners.request_new_link",      "GET",  (200, 200, 200, 200, 200, 200)),
    route("partners.request_new_link",      "POST", (422, 422, 422, 422, 422, 422)),

    # Signed by PayPal instead of a CSRF token: an empty body is not a genuine delivery.
    route("webhooks.paypal",                "POST", (400, 400, 400, 400, 400, 400)),
]

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@cache
def url_map():
    """The app's routes, read from an app made for that alone."""
    return create_app("testing").url_map


def rows_of_the_app():
    """(endpoint, method) for every rule of the app except static files."""
    return {
        (rule.endpoint, method)
        for rule in url_map().iter_rules() if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def arguments_of(row):
    return {name for rule in url_map().iter_rules(row.endpoint) for name in rule.arguments}


def resolve(world, path):
    """A dotted path into the world: attributes, dict keys and list indexes."""
    value = world
    for part in path.split("."):
        if isinstance(value, dict):
            value = value[part]
        elif isinstance(value, list):
            value = value[int(part)]
        else:
            value = getattr(value, part)
    return value


def url_values(world, row):
    """The row's URL parameters, filled from the world."""
    paths = {name: PARAMETERS[name] for name in arguments_of(row)} | row.parameters
    return {name: resolve(world, path) for name, path in paths.items()}


def query_values(world, row):
    return {name: resolve(world, path) for name, path in row.query.items()}
