"""Personal links per participant, the room password, and who joined (/sessions/<id>/…)."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from app.blueprints.invitations import bp
from app.blueprints.invitations.forms import PasteNamesForm, RoomPasswordForm
from app.extensions import db
from app.models import Invitation
from app.services import invitations, room_gate
from app.services.reports import write_csv
from app.web import (
    csv_attachment,
    external_url,
    form_status,
    get_managed_session_or_404,
    render,
    wants_fragment,
)


def _links_page(session, form, new_links=(), status=200):
    return render(
        "invitations/links.html", "invitations/_new_links.html", status=status, session=session,
        form=form, new_links=new_links, links=invitations.links_of(session),
        password_form=RoomPasswordForm(formdata=None),
    )


def _with_urls(new_links):
    return [(link, external_url("join.personal_link", token=link.token)) for link in new_links]


@bp.route("/sessions/<int:session_id>/invitations", methods=["GET", "POST"])
def links(session_id):
    """Paste names, press Generate: a personal link for each (as a table, or as CSV)."""
    session = get_managed_session_or_404(session_id)
    form = PasteNamesForm()
    if form.validate_on_submit():
        people, problems = invitations.parse_pasted_names(form.names.data)
        for number, line in problems:
            form.names.errors.append(_l("Line %(number)d is not a name: %(line)s", number=number, line=line[:80]))
        if people and not problems:
            made = _with_urls(invitations.generate_links(session, people))
            return _new_links_response(session, made)
        if not people and not problems:
            form.names.errors.append(_l("Paste at least one name."))
    return _links_page(session, form, status=form_status(form))


def _new_links_response(session, made):
    if request.form.get("format") == "csv":
        rows = [(i.name, i.email or "", url) for i, url in made]
        return csv_attachment(write_csv(("name", "email", "link"), rows), f"links-{session.slug}.csv")
    if not wants_fragment():
        return _links_page(session, PasteNamesForm(formdata=None), new_links=made)
    return render("invitations/_new_links.html", new_links=made, session=session)


@bp.route("/sessions/<int:session_id>/invitations/<int:invitation_id>/revoke", methods=["POST"])
def revoke(session_id, invitation_id):
    session = get_managed_session_or_404(session_id)
    invitation = _invitation_of(session, invitation_id)
    invitations.revoke(invitation)
    flash(_l("The link of %(name)s no longer works.", name=invitation.name), "success")
    return redirect(url_for("invitations.links", session_id=session.id))


@bp.route("/sessions/<int:session_id>/invitations/<int:invitation_id>/reissue", methods=["POST"])
def reissue(session_id, invitation_id):
    session = get_managed_session_or_404(session_id)
    invitation = _invitation_of(session, invitation_id)
    made = _with_urls([invitations.reissue(invitation)])
    return _links_page(session, PasteNamesForm(formdata=None), new_links=made)


def _invitation_of(session, invitation_id):
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.session_id != session.id:
        abort(404)
    return invitation


@bp.route("/sessions/<int:session_id>/room-password", methods=["POST"])
def room_password(session_id):
    session = get_managed_session_or_404(session_id)
    form = RoomPasswordForm()
    if form.validate_on_submit():
        room_gate.set_room_password(session, form.password.data)
        flash(_l("The room password has been saved.") if form.password.data
              else _l("The room password has been removed."), "success")
    return redirect(url_for("invitations.links", session_id=session.id))


@bp.route("/sessions/<int:session_id>/attendance")
def attendance(session_id):
    session = get_managed_session_or_404(session_id)
    return render("invitations/attendance.html", session=session,
                  attendances=room_gate.attendance_of(session))
