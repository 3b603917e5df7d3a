"""The setup wizard: the "Set up now" link (/partners/setup/<token>) and asking for a new link.

  GET  /partners/setup/<token>     step 1, with empty answers (the link always starts again)
  POST /partners/setup/<token>     the shown step's fields + the signed state + action:
                                   next | back | goto:<step> | not_us
  GET|POST /partners/setup/new-link   an expired or broken link: a fresh one to the contact

The wizard keeps its progress only in the signed `state` field (step + answers, bound to the
link's order, handoff and recipient), so leaving at any step saves nothing. Each POST checks the
step it came from, and answers with the next step: the whole page without JavaScript, only the
inner part of #wizard for htmx. The last step calls partner_setup.complete_setup, which writes
everything in one transaction.
"""

from dataclasses import dataclass, field

from flask import current_app, redirect, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.routing import BuildError

from app.blueprints.partners import bp
from app.blueprints.partners.links import setup_link_for, setup_link_max_age
from app.blueprints.partners.wizard_forms import (
    AdminForm,
    ConfirmForm,
    CustomerForm,
    NewLinkForm,
    NewPartnerForm,
    PasswordForm,
    RoleForm,
    WhoForm,
)
from app.extensions import db, limiter
from app.i18n import LANGUAGE_NAMES
from app.models import AddOn
from app.models.base import utcnow
from app.services import partner_orders, partner_setup
from app.services.locks import Busy
from app.services.partner_orders import AWAITING_SETUP, PartnerOrderError
from app.web import render, wants_fragment

STATE_SALT = "lectern.partner-setup-wizard"

STEP_TITLES = {
    "role": _l("Your role"),
    "who": _l("Who sets up"),
    "partner": _l("Your partner organisation"),
    "new_partner": _l("Create your partner organisation"),
    "admin": _l("Customer administrator"),
    "own_admin": _l("Your administrator account"),
    "customer": _l("Customer details"),
    "review": _l("Review"),
    "password": _l("Choose your password"),
}
# Where complete_setup's refusals belong (its error's `field`).
FIELD_STEPS = {
    "admin_email": ("admin", "admin_email"), "admin_name": ("admin", "admin_name"),
    "customer_name": ("customer", "customer_name"), "locale": ("customer", "locale"),
    "timezone": ("customer", "timezone"), "currency": ("customer", "currency"),
    "partner_name": ("partner", "partner_name"), "your_name": ("partner", "your_name"),
    "partner": ("partner", None), "sign_in": ("partner", None), "password": ("password", "password"),
}


@dataclass
class Wizard:
    """One request's view of the wizard: the link, the step shown, and the answers so far."""

    token: str
    link: partner_orders.SetupLink
    step: str = ""
    answers: dict = field(default_factory=dict)

    @property
    def order(self):
        return self.link.order

    @property
    def partner_exists(self):
        return self.order.partner is not None

    @property
    def role(self):
        return partner_setup.role_of(self.link.handoff, self.answers)

    @property
    def steps(self):
        return partner_setup.steps_for(self.link.handoff, self.answers, self.partner_exists)

    @property
    def url(self):
        return url_for("partners.setup", token=self.token)

    def signed_in_partner_member(self):
        return (current_user.is_authenticated and self.partner_exists
                and current_user.organization_id == self.order.partner_organization_id)

    def new_partner_admin_email(self):
        """The address the new partner organisation's administrator signs in with."""
        return self.link.email if self.role == "partner" and not self.partner_exists else None

    def setter_email(self):
        if self.role == "customer":
            return self.answers.get("admin_email", "")
        if not self.partner_exists:
            return self.link.email
        return current_user.email if self.signed_in_partner_member() else ""


# The signed state -----------------------------------------------------------------------------


def _state_serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=STATE_SALT)


def _dump_state(wizard):
    link = wizard.link
    return _state_serializer().dumps(
        {"o": link.order.id, "h": link.handoff, "e": link.email, "s": wizard.step, "a": wizard.answers}
    )


def _load_state(wizard, raw):
    """Fill the wizard from a posted state; False when it is forged or belongs to another link."""
    try:
        data = _state_serializer().loads(raw or "")
    except BadSignature:
        return False
    link = wizard.link
    if not isinstance(data, dict) or (data.get("o"), data.get("h"), data.get("e")) != (
        link.order.id, link.handoff, link.email
    ) or not isinstance(data.get("a"), dict):
        return False
    wizard.answers = {str(k): str(v) for k, v in data["a"].items()}
    wizard.step = data.get("s") if data.get("s") in wizard.steps else wizard.steps[0]
    return True


# The link -------------------------------------------------------------------------------------


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token):
    try:
        link = partner_orders.read_setup_token(token, current_app.config["SECRET_KEY"], setup_link_max_age())
    except PartnerOrderError as error:
        return _bad_link(token, error)
    if link.order.state not in AWAITING_SETUP:
        if request.method == "POST" and link.order.state != "canceled":  # someone finished meanwhile
            return _closed(link.order, _l("This order has just been set up by someone else."), status=409)
        return _closed(link.order)
    wizard = Wizard(token, link)
    if request.method == "GET":
        wizard.answers = _fixed_answers(link)
        wizard.step = wizard.steps[0]
        return _show(wizard)
    if not _load_state(wizard, request.form.get("state")):
        return _notice("state", 400, restart_url=wizard.url)
    action = request.form.get("action", "next")
    if action == "back":
        return _back(wizard)
    if action.startswith("goto:"):
        return _goto(wizard, action.removeprefix("goto:"))
    if action == "not_us" and wizard.step == "partner" and wizard.partner_exists:
        return _notice("stop", 200, representative=partner_orders.representative_email(
            current_app.config["ACCOUNT_REPRESENTATIVE_EMAIL"]), order=wizard.order)
    return _next(wizard)


def _fixed_answers(link):
    """What the link itself answers: a colleague sets up as the partner, the customer as the customer."""
    if link.handoff == "customer":
        return {"role": "customer", "admin_email": link.email}
    if link.handoff == "colleague":
        return {"role": "partner", "who": "me"}
    return {}


def _form_class(wizard, step):
    return {
        "role": RoleForm, "who": WhoForm, "admin": AdminForm, "customer": CustomerForm,
        "password": PasswordForm,
        "partner": ConfirmForm if wizard.partner_exists else NewPartnerForm,
    }.get(step, ConfirmForm)


def _form_options(wizard, step):
    return {"customer_path": wizard.role == "customer"} if step == "admin" else {}


def _posted_form(wizard):
    return _form_class(wizard, wizard.step)(**_form_options(wizard, wizard.step))


def _shown_form(wizard, step):
    answers = dict(wizard.answers)
    if step == "customer":
        answers.setdefault("customer_name", wizard.order.customer_name)
        answers.setdefault("locale", str(get_locale()))
        zone = str(get_timezone())
        answers.setdefault("timezone", zone if "/" in zone or zone == "UTC" else "UTC")  # one of the choices
        answers.setdefault("currency", "EUR")
    elif step == "partner" and not wizard.partner_exists:
        answers.setdefault("partner_name", wizard.order.partner_name)
    elif step == "admin" and wizard.role == "customer":
        answers.setdefault("admin_email", wizard.link.email)
    return _form_class(wizard, step).from_answers(answers, **_form_options(wizard, step))


def _back(wizard):
    """Back keeps what this step says when it is valid (never a password), and shows the step before."""
    form = _posted_form(wizard)
    if wizard.step != "password" and form.validate():
        wizard.answers.update(form.answers())
    steps = wizard.steps
    index = steps.index(wizard.step) if wizard.step in steps else 0
    wizard.step = steps[max(index - 1, 0)]
    return _show(wizard)


def _goto(wizard, step):
    """*Change* on the review: an earlier step, with its answers."""
    steps = wizard.steps
    if step in steps and wizard.step in steps and steps.index(step) < steps.index(wizard.step):
        wizard.step = step
    return _show(wizard)


def _next(wizard):
    form = _posted_form(wizard)
    if not form.validate_on_submit():
        return _show(wizard, form, status=422)
    step = wizard.step
    if step == "who":
        wizard.answers.update(form.answers())
        if wizard.answers["who"] != "me":
            return _hand_off(wizard, form)
    elif step == "partner":
        problem = _partner_step_problem(wizard)
        if problem:
            form.form_errors.append(problem)
            return _show(wizard, form, status=422)
        wizard.answers.update(form.answers())
    elif step == "admin":
        answers = form.answers()
        problem = partner_setup.admin_email_problem(answers["admin_email"], wizard.new_partner_admin_email())
        if problem:
            form.admin_email.errors.append(problem)
            return _show(wizard, form, status=422)
        wizard.answers.update(answers)
    elif step != "password":
        wizard.answers.update(form.answers())
    steps = wizard.steps
    index = steps.index(step)
    if index + 1 < len(steps):
        wizard.step = steps[index + 1]
        return _show(wizard)
    return _complete(wizard, form)


def _partner_step_problem(wizard):
    if wizard.partner_exists:
        if not wizard.signed_in_partner_member():
            return _l("Sign in with your account at %(partner)s to set up this order.",
                      partner=wizard.order.partner.name)
        return None
    if partner_orders.user_in_other_organization(wizard.link.email) is not None:
        return _l("Your email address %(email)s already belongs to a user of another organisation, and a user "
                  "belongs to exactly one organisation. Go back and let another person in your company set "
                  "up the order.", email=wizard.link.email)
    return None


def _hand_off(wizard, form):
    """Another person in the company, or the customer: they get their own link; nothing else is saved."""
    email = form.handoff_email()
    handoff = wizard.answers["who"]
    try:
        partner_setup.hand_off(wizard.order.id, handoff, email, setup_link_for, locale=str(get_locale()))
    except PartnerOrderError as error:
        return _closed(wizard.order, error.message, status=409)
    except Busy as busy:
        form.form_errors.append(busy.message)
        return _show(wizard, form, status=422)
    return _notice("sent", 200, email=email, handoff=handoff, order=wizard.order)


def _complete(wizard, form):
    password = form.password.data if wizard.step == "password" else None
    try:
        done = partner_setup.complete_setup(
            wizard.order.id, wizard.answers, password, wizard.setter_email(), utcnow(),
            locale=str(get_locale()), invite_valid_days=current_app.config["ACCOUNT_SETUP_MAX_AGE"] // 86400,
        )
    except PartnerOrderError as error:
        return _refused(wizard, form, error)
    except Busy as busy:
        form.form_errors.append(busy.message)
        return _show(wizard, form, status=422)
    if password:
        login_user(done.setter)
    return _go_to(_service_setup_url(done.order.id))


def _refused(wizard, form, error):
    """complete_setup said no: show the step the problem belongs to, or that the order is gone."""
    if error.field == "order":
        return _closed(wizard.order, error.message, status=409)
    step, field_name = FIELD_STEPS.get(error.field, (None, None))
    if step in wizard.steps and step != wizard.step:
        wizard.step = step
        form = _shown_form(wizard, step)
    target = getattr(form, field_name, None) if field_name and step == wizard.step else None
    if target is not None:
        target.errors = [*target.errors, error.message]
    else:
        form.form_errors.append(error.message)
    return _show(wizard, form, status=422)


def _service_setup_url(order_id):
    """The service setup page (its own view module); its address is known even before it exists."""
    try:
        return url_for("partners.service_setup", order_id=order_id)
    except BuildError:
        return f"{request.script_root}/partners/orders/{order_id}/service"


def _go_to(url):
    if request.headers.get("HX-Request"):
        return "", 200, {"HX-Redirect": url}
    return redirect(url)


# Showing a step ---------------------------------------------------------------------------------


def _show(wizard, form=None, status=200):
    step = wizard.step
    if form is None:
        form = _shown_form(wizard, step)
    steps = wizard.steps
    context = dict(
        wizard=wizard, order=wizard.order, form=form, step=step, step_title=_step_title(wizard, step),
        position=steps.index(step) + 1, total=len(steps), first=steps.index(step) == 0,
        last=steps.index(step) == len(steps) - 1, state=_dump_state(wizard), as_fragment=wants_fragment(),
    )
    if step == "partner" and wizard.partner_exists:
        context.update(partner=wizard.order.partner, partner_admins=_admins(wizard.order.partner),
                       signed_in_member=wizard.signed_in_partner_member(),
                       sign_in_url=url_for("auth.sign_in", next=wizard.url, email=wizard.link.email))
    if step == "review":
        context.update(review=_review(wizard))
    if step == "password":
        context.update(account_email=wizard.setter_email())
    return render("partners/setup_wizard.html", "partners/_setup_wizard.html", status=status, **context)


def _step_title(wizard, step):
    if step == "partner" and not wizard.partner_exists:
        return STEP_TITLES["new_partner"]
    if step == "admin" and wizard.role == "customer":
        return STEP_TITLES["own_admin"]
    return STEP_TITLES[step]


def _admins(organization):
    return sorted(user.email for user in organization.users if user.is_admin)


@dataclass(frozen=True)
class Review:
    plan: object
    cycle: str
    licenses: int
    add_ons: list
    starts_on: object
    partner_name: str
    new_partner: bool
    language: str
    partner_manages: bool


def _review(wizard):
    order, answers = wizard.order, wizard.answers
    add_ons = db.session.scalars(
        select(AddOn).where(AddOn.code.in_(order.add_on_code_list)).order_by(AddOn.position, AddOn.id)
    ).all()
    return Review(
        plan=order.plan, cycle=order.cycle, licenses=order.licenses, add_ons=[a.name for a in add_ons],
        starts_on=order.requested_start_on,
        partner_name=order.partner.name if wizard.partner_exists else answers.get("partner_name") or order.partner_name,
        new_partner=not wizard.partner_exists and wizard.role == "partner",
        language=LANGUAGE_NAMES.get(answers.get("locale"), answers.get("locale", "")),
        partner_manages=partner_setup.partner_manages(wizard.link.handoff, answers),
    )


# Links that cannot be used ----------------------------------------------------------------------


def _notice(kind, status, **context):
    """A page instead of a step: the link cannot be used, the setup was handed on or stopped.
    htmx swaps it into #wizard, which only happens for a 2xx answer."""
    if wants_fragment():
        status = 200
    return render("partners/setup_notice.html", "partners/_setup_notice.html", status=status, kind=kind,
                  as_fragment=wants_fragment(), **context)


def _bad_link(token, error):
    """Expired (410) or not valid (400): explain, and offer a new link to the contact."""
    expired = error.field == "expired"
    form = NewLinkForm(formdata=None, data=_expired_link_details(token) if expired else {})
    return _notice("expired" if expired else "invalid", 410 if expired else 400, form=form)


def _expired_link_details(token):
    """An expired link's signature is still good: its order code (and the contact) fill the form."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=partner_orders.SETUP_SALT)
    try:
        data = serializer.loads(token)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    return {"code": data.get("c", ""), "email": data.get("e", "") if data.get("h") == "contact" else ""}


def _closed(order, message=None, status=200):
    """The order was set up already (or canceled: 410): nothing more to do with this link."""
    if order.state == "canceled":
        kind, message, status = "canceled", message or _l("This order has been canceled."), max(status, 410)
    else:
        kind, message = "done", message or _l("This order has already been set up.")
    return _notice(kind, status, message=message, order=order,
                   service_url=_service_setup_url(order.id) if order.state == "in_setup" else None,
                   sign_in_url=url_for("auth.sign_in", next=_service_setup_url(order.id)))


def _new_link_limit():
    return current_app.config["RATELIMIT_SETUP_LINK"]


@bp.route("/setup/new-link", methods=["GET", "POST"])
@limiter.limit(_new_link_limit, methods=["POST"])
def request_new_link():
    """The same answer whether or not the details match, so it tells nobody which orders exist."""
    form = NewLinkForm()
    if request.method == "GET":
        return _notice("ask", 200, form=NewLinkForm(formdata=None))
    if not form.validate_on_submit():
        return _notice("ask", 422, form=form)
    try:
        partner_orders.request_new_link(form.code.data, form.email.data, setup_link_for)
    except (PartnerOrderError, Busy):
        db.session.rollback()  # set up meanwhile, or busy: the answer stays the same
    return _notice("new_link_sent", 200)
