"""The pages the benchmark drives, and the rows they need on top of the demo data."""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import select

from app.extensions import db
from app.models import TrainingSession, User
from app.models.base import utcnow
from app.services import commerce, invitations, registrations
from app.services.order_links import make_order_token

HOST_EMAIL = "host@example.com"


@dataclass(frozen=True)
class Page:
    name: str
    method: str
    path: str
    signed_in: bool = False  # as the demo host
    htmx: bool = False
    form: dict = field(default_factory=dict)

    @property
    def body(self):
        return urlencode(self.form)


def prepare(secret_key, now=None):
    """Add what the pages need (a pay-per-use session, an order waiting for payment, a session
    that is live now with a personal link) and return the pages, filled in."""
    now = now or utcnow()
    host = db.session.execute(select(User).where(User.email == HOST_EMAIL)).scalar_one()
    commerce.update_settings(host.organization, pay_per_use=True)
    costed = _session(host, "bench-pay-per-use", now + timedelta(days=2), state="awaiting_payment")
    live = _session(host, "bench-live", now - timedelta(minutes=5), duration_min=24 * 60,
                    access_mode="unique_link", meeting_url="https://meet.example.com/bench-live")
    paid = db.session.execute(select(TrainingSession).where(TrainingSession.slug == "demo-1")).scalar_one()
    _, link_token = invitations.new_invitation(live, "Benchmark guest", "guest@example.com")
    db.session.commit()
    order = registrations.register(paid, "Benchmark buyer", "buyer@example.com", "en",
                                   hold_minutes=24 * 60)
    order_token = make_order_token(order, secret_key)
    return [
        Page("public session page", "GET", f"/s/{paid.slug}"),
        Page("session list (home)", "GET", "/"),
        Page("my sessions (host)", "GET", "/sessions/", signed_in=True),
        Page("estimated cost partial", "POST", f"/sessions/{costed.id}/cost/preview", signed_in=True,
             htmx=True, form={"duration_min": 90, "computers": 25, "teleconference_computers": 4}),
        Page("coupon apply partial", "POST", f"/checkout/{order_token}/coupon", htmx=True,
             form={"code": "WELCOME10"}),
        Page("join gate redirect", "GET", f"/j/{link_token}"),
        Page("plans page", "GET", "/plans/"),
    ]


def _session(host, slug, starts_at, duration_min=90, **values):
    session = TrainingSession(
        organization=host.organization, host=host, slug=slug, title=slug.replace("-", " ").title(),
        starts_at=starts_at, timezone="Europe/Stockholm", duration_min=duration_min, capacity=100,
        fee_minor=0, currency="SEK", **values,
    )
    db.session.add(session)
    db.session.flush()
    return session
