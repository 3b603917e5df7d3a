"""The room gate: personal links (/j/<token>) and the password or open door (/s/<slug>/join)."""

from flask import abort, current_app, redirect, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.blueprints.join import bp
from app.blueprints.join.forms import JoinForm
from app.extensions import db, limiter
from app.models import TrainingSession
from app.models.base import utcnow
from app.services import invitations, room_gate
from app.web import form_status, render


def _opens_before():
    return current_app.config["JOIN_OPENS_MINUTES_BEFORE"]


def _refused(session, reason, status=200):
    opens, _ = room_gate.window(session, _opens_before())
    seconds_to_open = max(0, int((opens - utcnow()).total_seconds()))
    return render("join/refused.html", session=session, reason=reason, opens_at=opens,
                  refresh_in=min(seconds_to_open + 1, 300), status=status)


def _enter(session, name, email, via, invitation=None):
    reason = room_gate.timing_refusal(session, _opens_before(), utcnow())
    if reason:
        return _refused(session, reason)
    room_gate.admit(session, name, email, via, invitation)
    return redirect(session.meeting_url)


@bp.route("/j/<token>")
def personal_link(token):
    invitation = invitations.invitation_for_token(token)
    if invitation is None:
        # The same page for unknown, malformed and revoked links: nothing to learn by guessing.
        return render("join/unknown_link.html", status=404)
    room_gate.mark_opened(invitation)
    session = invitation.session
    reason = room_gate.link_refusal(invitation)
    if reason:
        return _refused(session, reason, status=403)
    return _enter(session, invitation.name, invitation.email, "personal_link", invitation)


def _session_or_404(slug):
    session = db.session.execute(
        select(TrainingSession).where(TrainingSession.slug == slug)
    ).scalar_one_or_none()
    if session is None or session.state == "draft":
        abort(404)
    return session


def _room_password_limit():
    return current_app.config["RATELIMIT_ROOM_PASSWORD"]


def _room_and_address():
    """Password guesses are counted per room and address, so one guesser locks out no one else."""
    return f"room:{request.view_args.get('slug')}:{request.remote_addr}"


@bp.route("/s/<slug>/join", methods=["GET", "POST"])
@limiter.limit(_room_password_limit, methods=["POST"], key_func=_room_and_address)
def door(slug):
    session = _session_or_404(slug)
    mode = session.access_mode
    if mode not in ("password", "open") or (mode == "open" and session.is_paid):
        return render("join/personal_link_needed.html", session=session)
    form = JoinForm(needs_email=session.is_paid, needs_password=mode == "password")
    if form.validate_on_submit():
        email = form.email.data if "email" in form else None
        if mode == "password" and not room_gate.password_matches(session, form.password.data):
            form.password.errors.append(_l("The room password is not correct."))
        elif session.is_paid and room_gate.confirmed_registration(session, email) is None:
            form.email.errors.append(_l("We found no paid registration for this email address."))
        else:
            return _enter(session, form.name.data, email, mode)
    if "password" in form:
        form.password.data = ""
    return render("join/door.html", session=session, form=form, status=form_status(form))
