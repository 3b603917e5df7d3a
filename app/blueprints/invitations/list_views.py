"""Subscriber lists (/invitations/lists, hosts and admins) and unsubscribing (/unsubscribe/<token>)."""

from functools import wraps

from flask import abort, current_app, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.invitations import bp
from app.blueprints.invitations.campaign_forms import (
    ConfirmForm,
    ImportForm,
    SubscriberForm,
    SubscriberListForm,
)
from app.extensions import db
from app.models import Organization, Subscriber, SubscriberList
from app.services import subscribers
from app.services.subscribers import SubscriberError
from app.web import form_status, get_in_my_organization_or_404, render, wants_fragment


def hosts_and_admins(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role not in ("admin", "host"):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _show_error(form, error):
    field = getattr(form, error.field, None) if error.field else None
    (field.errors if field is not None else form.form_errors).append(error.message)


def _subscriber_of(subscriber_list, subscriber_id):
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.list_id != subscriber_list.id:
        abort(404)
    return subscriber


def _list_page(subscriber_list, add_form=None, import_form=None, status=200, announcement=None):
    return render(
        "invitations/lists_show.html", "invitations/_list_subscribers.html", status=status,
        subscriber_list=subscriber_list, subscribers=subscribers.subscribers_of(subscriber_list),
        form=add_form or SubscriberForm(current_user.organization, formdata=None),
        import_form=import_form or ImportForm(formdata=None), announcement=announcement,
    )


@bp.route("/invitations/lists", methods=["GET", "POST"])
@hosts_and_admins
def lists():
    organization = current_user.organization
    form = SubscriberListForm()
    if form.validate_on_submit():
        try:
            created = subscribers.create_list(organization, form.name.data)
        except SubscriberError as error:
            _show_error(form, error)
        else:
            flash(_l("The list %(name)s has been created.", name=created.name), "success")
            return redirect(url_for("invitations.subscriber_list", list_id=created.id))
    return render("invitations/lists.html", form=form, status=form_status(form),
                  rows=subscribers.lists_with_counts(organization))


@bp.route("/invitations/lists/<int:list_id>")
@hosts_and_admins
def subscriber_list(list_id):
    return _list_page(get_in_my_organization_or_404(SubscriberList, list_id))


@bp.route("/invitations/lists/<int:list_id>/subscribers", methods=["POST"])
@hosts_and_admins
def add_subscriber(list_id):
    subscriber_list = get_in_my_organization_or_404(SubscriberList, list_id)
    form = SubscriberForm(current_user.organization)
    if form.validate_on_submit():
        try:
            subscriber, created = subscribers.add_subscriber(
                subscriber_list, form.name.data, form.email.data, form.locale.data, form.timezone.data
            )
        except SubscriberError as error:
            _show_error(form, error)
        else:
            message = (_l("%(email)s has been added.", email=subscriber.email) if created
                       else _l("%(email)s was already on the list and has been updated.", email=subscriber.email))
            if wants_fragment():
                return _list_page(subscriber_list, announcement=message)
            flash(message, "success")
            return redirect(url_for("invitations.subscriber_list", list_id=subscriber_list.id))
    return _list_page(subscriber_list, add_form=form, status=form_status(form))


@bp.route("/invitations/lists/<int:list_id>/subscribers/<int:subscriber_id>/remove", methods=["POST"])
@hosts_and_admins
def remove_subscriber(list_id, subscriber_id):
    subscriber_list = get_in_my_organization_or_404(SubscriberList, list_id)
    subscriber = _subscriber_of(subscriber_list, subscriber_id)
    email = subscriber.email
    subscribers.remove_subscriber(subscriber)
    message = _l("%(email)s has been removed from the list.", email=email)
    if wants_fragment():  # the row goes; the message lands in the page's status region
        return render("invitations/_list_removed.html", message=message)
    flash(message, "success")
    return redirect(url_for("invitations.subscriber_list", list_id=subscriber_list.id))


@bp.route("/invitations/lists/<int:list_id>/import", methods=["GET", "POST"])
@hosts_and_admins
def import_subscribers(list_id):
    subscriber_list = get_in_my_organization_or_404(SubscriberList, list_id)
    form = ImportForm()
    result = None
    if form.validate_on_submit():
        text = form.text.data or ""
        if form.file.data:
            text = subscribers.decode_upload(form.file.data.read())
            if text is None:
                form.file.errors.append(_l("Save the file as CSV in UTF-8 and try again."))
        if text is not None:
            result = subscribers.import_csv(subscriber_list, text)
    return render("invitations/lists_import.html", form=form, status=form_status(form),
                  subscriber_list=subscriber_list, result=result)


@bp.route("/invitations/lists/<int:list_id>/delete", methods=["POST"])
@hosts_and_admins
def delete_list(list_id):
    subscriber_list = get_in_my_organization_or_404(SubscriberList, list_id)
    name = subscriber_list.name
    subscribers.delete_list(subscriber_list)
    flash(_l("The list %(name)s has been deleted.", name=name), "success")
    return redirect(url_for("invitations.lists"))


# Unsubscribing: for the people invited, no account needed -----------------------------------


def _subscriber_for_token_or_404(token):
    subscriber = subscribers.subscriber_for_token(token, current_app.config["SECRET_KEY"])
    if subscriber is None:
        abort(404)
    return subscriber


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    """GET asks to confirm (mail scanners open links); POST, with its CSRF token, unsubscribes."""
    subscriber = _subscriber_for_token_or_404(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        subscribers.unsubscribe(subscriber)
        return redirect(url_for("invitations.unsubscribe", token=token))
    organization = db.session.get(Organization, subscriber.subscriber_list.organization_id)
    return render("invitations/unsubscribe.html", form=form, subscriber=subscriber,
                  organization=organization, token=token)
