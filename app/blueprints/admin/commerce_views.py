"""The site's e-commerce settings: switches, payment methods, PayPal and bank details, seat holds."""

from babel.numbers import get_currency_name
from flask import flash, redirect, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.commerce_forms import CommerceSettingsForm
from app.services import commerce
from app.web import admin_required, form_status, render


@bp.context_processor
def commerce_navigation():
    """The admin menu shows coupons and reports only when they are switched on (looked up lazily)."""
    return {"nav_commerce_settings": lambda: commerce.settings_for(current_user.organization)}


@bp.route("/commerce", methods=["GET", "POST"])
@admin_required
def commerce_settings():
    organization = current_user.organization
    settings = commerce.settings_for(organization)
    form = CommerceSettingsForm(obj=settings, has_secret=bool(settings.paypal_client_secret),
                                currency=organization.currency, stored_policy=settings.cancellation_policy)
    if form.validate_on_submit():
        commerce.update_settings(organization, **form.settings_values())
        flash(_l("The e-commerce settings have been saved."), "success")
        return redirect(url_for("admin.commerce_settings"))
    return render(
        "admin/commerce.html", form=form, status=form_status(form), organization=organization,
        currency_name=get_currency_name(organization.currency, locale=get_locale()),
    )
