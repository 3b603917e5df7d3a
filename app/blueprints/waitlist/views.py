"""The waitlist: joining a full session (/s/<slug>/waitlist), taking an offered seat
(/w/<token>, a capability link like /checkout/<token>), and the host's queue
(/sessions/<id>/waitlist)."""

from flask import abort, current_app, flash, redirect, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from app.blueprints.scheduling.views import public_session_or_404
from app.blueprints.scheduling.views import render_public_page
from app.blueprints.waitlist import bp
from app.blueprints.waitlist.forms import AcceptOfferForm, EntryActionForm, JoinWaitlistForm
from app.extensions import limiter
from app.i18n import attendee_timezone
from app.models.base import utcnow
from app.services import commerce, waitlist
from app.services.locks import Busy
from app.services.order_links import make_order_token
from app.web import get_managed_session_or_404, render


# Joining ------------------------------------------------------------------------------------


def _join_limit():
    return current_app.config["RATELIMIT_WAITLIST_JOIN"]


@bp.route("/s/<slug>/waitlist", methods=["POST"])
@limiter.limit(_join_limit)  # each place in the queue emails the address given
def join(slug):
    session = public_session_or_404(slug)
    form = JoinWaitlistForm()
    if form.validate_on_submit():
        try:
            entry = waitlist.join(session, form.name.data, form.email.data, str(get_locale()),
                                  attendee_timezone())
        except waitlist.WaitlistError as error:
            (getattr(form, error.field).errors if error.field else form.form_errors).append(error.message)
        except Busy as error:
            form.form_errors.append(error.message)
        else:
            flash(_l("You are on the waitlist, in position %(position)d. We have emailed you; "
                     "when a seat is free, we email you a link to take it.",
                     position=waitlist.position(entry)), "success")
            return redirect(url_for("scheduling.public_page", slug=slug))
    return render_public_page(session, waitlist_form=form, status=422)


# The offer link -----------------------------------------------------------------------------


@bp.route("/w/<token>", methods=["GET", "POST"])
def offer(token):
    now = utcnow()
    try:
        entry = waitlist.offer_for_token(token, now)
    except waitlist.OfferGone as error:
        return render("waitlist/gone.html", message=error.message, used=error.used, status=error.status)
    form = AcceptOfferForm()
    if form.validate_on_submit():
        settings = commerce.settings_for(entry.session.organization)
        try:
            order = waitlist.accept(token, settings.hold_minutes, now)
        except waitlist.OfferGone as error:
            return render("waitlist/gone.html", message=error.message, used=error.used, status=error.status)
        except waitlist.SeatTaken as error:
            return render("waitlist/gone.html", message=error.message, back_in_queue=True, status=409)
        except waitlist.WaitlistError as error:
            return render("waitlist/gone.html", message=error.message, status=409)
        except Busy as error:
            form.form_errors.append(error.message)
        else:
            return redirect(url_for("checkout.payment",
                                    token=make_order_token(order, current_app.config["SECRET_KEY"])))
    return render("waitlist/offer.html", entry=entry, session=entry.session, form=form,
                  seconds_left=int((entry.offer_expires_at - now).total_seconds()),
                  status=422 if form.form_errors else 200)


# The host's queue ---------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/waitlist")
@login_required
def host_list(session_id):
    session = get_managed_session_or_404(session_id)
    queue, past = waitlist.entries_for_host(session.id)
    return render("waitlist/host.html", session=session, queue=queue, past=past,
                  now=utcnow(), action_form=EntryActionForm())


@bp.route("/sessions/<int:session_id>/waitlist/<int:entry_id>/offer", methods=["POST"])
@login_required
def promote(session_id, entry_id):
    return _host_action(session_id, entry_id, waitlist.promote,
                        lambda entry: _l("An offer has been emailed to %(name)s.", name=entry.name))


@bp.route("/sessions/<int:session_id>/waitlist/<int:entry_id>/remove", methods=["POST"])
@login_required
def remove(session_id, entry_id):
    return _host_action(session_id, entry_id, waitlist.remove,
                        lambda entry: _l("%(name)s has been removed from the waitlist.", name=entry.name))


def _host_action(session_id, entry_id, action, done_message):
    session = get_managed_session_or_404(session_id)
    if not EntryActionForm().validate_on_submit():
        abort(400)
    try:
        entry = action(session, entry_id)
    except (waitlist.WaitlistError, Busy) as error:
        flash(error.message, "error")
    else:
        if entry is None:  # not an entry of this session
            abort(404)
        flash(done_message(entry), "success")
    return redirect(url_for("waitlist.host_list", session_id=session.id))
