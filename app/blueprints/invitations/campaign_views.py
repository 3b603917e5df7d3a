"""Email invitations to a session (/sessions/<id>/invitations/email): write, preview, send,
watch the progress, resend what failed. For the session's host and the site's admins."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.blueprints.invitations import bp
from app.blueprints.invitations.campaign_forms import CampaignForm
from app.extensions import db
from app.models import InvitationCampaign, SubscriberList
from app.services import campaigns, subscribers
from app.services.campaigns import CampaignError
from app.web import form_status, get_managed_session_or_404, render


@bp.app_template_filter("text_html")
def text_html(text):
    """Plain text shown as it was typed: escaped, line breaks kept, addresses clickable."""
    return campaigns.text_to_html(text)


def _campaign_of(session, campaign_id):
    campaign = db.session.get(InvitationCampaign, campaign_id)
    if campaign is None or campaign.session_id != session.id:
        abort(404)
    return campaign


def _chosen_list(form, organization):
    if not form.subscriber_list.data or form.subscriber_list.errors:
        return None
    subscriber_list = db.session.get(SubscriberList, int(form.subscriber_list.data))
    if subscriber_list is None or subscriber_list.organization_id != organization.id:
        abort(404)
    return subscriber_list


def _recipients(form, organization):
    """The recipients the form names; problems go onto the form's fields."""
    recipients, problems, skipped = campaigns.recipients_for(
        organization, _chosen_list(form, organization), form.recipients.data or ""
    )
    for number, reason in problems:
        form.recipients.errors.append(_l("Line %(number)d: %(reason)s", number=number, reason=reason))
    if not recipients and not problems:
        form.recipients.errors.append(
            _l("Nobody to send to: everyone chosen has unsubscribed.") if skipped
            else _l("Choose a subscriber list or add recipients.")
        )
    return recipients, skipped


def _defaults(form, session):
    form.subject.data = str(_l("Invitation: {title}"))
    if session.is_paid:
        form.body.data = str(_l("Hello {name},\n\nYou are invited to {title} on {time}.\n\nRegister here: {link}\n"))
    else:
        form.body.data = str(_l("Hello {name},\n\nYou are invited to {title} on {time}.\n\nJoin with your personal link: {link}\n"))


@bp.route("/sessions/<int:session_id>/invitations/email", methods=["GET", "POST"])
@login_required
def email_invitations(session_id):
    session = get_managed_session_or_404(session_id)
    organization = session.organization
    form = CampaignForm(subscribers.lists_with_counts(organization))
    if not form.is_submitted():
        _defaults(form, session)
    preview, skipped = None, 0
    if form.is_submitted():
        valid = form.validate()  # the recipients are checked too, so every problem shows at once
        recipients, skipped = _recipients(form, organization)
        if valid and recipients and not form.recipients.errors:
            values = dict(subject=form.subject.data, body=form.body.data, password=form.password.data or "")
            try:
                if request.form.get("action") == "send":
                    campaign = campaigns.send_campaign(session, current_user, recipients, **values)
                    flash(ngettext("The invitation is on its way to %(num)d person.",
                                   "The invitation is on its way to %(num)d people.", len(recipients)),
                          "success")
                    return redirect(url_for("invitations.campaign", session_id=session.id,
                                            campaign_id=campaign.id))
                preview = campaigns.preview(session, organization, recipients, **values)
            except CampaignError as error:
                field = getattr(form, error.field, None) if error.field else None
                (field.errors if field is not None else form.form_errors).append(error.message)
    return render(
        "invitations/campaign.html", "invitations/_campaign_form.html", status=form_status(form),
        session=session, form=form, preview=preview, skipped=skipped,
        past=campaigns.campaigns_of(session),
    )


@bp.route("/sessions/<int:session_id>/invitations/email/<int:campaign_id>")
@login_required
def campaign(session_id, campaign_id):
    """The campaign and its progress; htmx polls the progress fragment while mail is queued."""
    session = get_managed_session_or_404(session_id)
    sent = _campaign_of(session, campaign_id)
    return render("invitations/campaign_sent.html", "invitations/_campaign_progress.html",
                  session=session, campaign=sent, progress=campaigns.progress(sent))


@bp.route("/sessions/<int:session_id>/invitations/email/<int:campaign_id>/resend", methods=["POST"])
@login_required
def resend_campaign(session_id, campaign_id):
    session = get_managed_session_or_404(session_id)
    sent = _campaign_of(session, campaign_id)
    count = campaigns.resend_failed(sent)
    if count:
        flash(ngettext("%(num)d message has been queued again.",
                       "%(num)d messages have been queued again.", count), "success")
    else:
        flash(_l("No message had failed; nothing was resent."), "info")
    return redirect(url_for("invitations.campaign", session_id=session.id, campaign_id=sent.id))
