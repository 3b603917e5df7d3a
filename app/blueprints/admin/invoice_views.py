"""Invoices and tax: the site's legal details, its tax rates per country, and the invoices and
credit notes it issued (administrators of the site only; never another site's)."""

from flask import abort, flash, redirect, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.invoice_forms import LegalDetailsForm, TaxRateForm
from app.blueprints.checkout.views import pdf_download
from app.extensions import db
from app.models import Invoice, TaxRate
from app.services import commerce, invoicing, tax_settings
from app.services.tax import country_name
from app.services.tax_settings import TaxSettingsError
from app.web import admin_required, get_in_my_organization_or_404, render


def _show_error(form, error):
    field = getattr(form, error.field or "", None)
    (field.errors if field is not None else form.form_errors).append(error.message)


def _page(legal_form=None, rate_form=None, status=200):
    organization = current_user.organization
    return render(
        "admin/invoicing.html", status=status,
        legal_form=legal_form or LegalDetailsForm.for_settings(commerce.settings_for(organization)),
        rate_form=rate_form or TaxRateForm(formdata=None),
        rates=tax_settings.rates_of(organization), country_label=_country_label,
    )


def _country_label(code):
    return country_name(code, str(get_locale())) if code else _l("Every other country (default)")


@bp.route("/invoicing", methods=["GET", "POST"])
@admin_required
def invoicing_settings():
    form = LegalDetailsForm()
    if not form.is_submitted():
        return _page()
    if form.validate():
        try:
            tax_settings.update_legal_details(current_user.organization, **form.values())
        except TaxSettingsError as error:
            _show_error(form, error)
        else:
            flash(_l("The invoice details have been saved."), "success")
            return redirect(url_for("admin.invoicing_settings"))
    return _page(legal_form=form, status=422)


@bp.route("/invoicing/rates", methods=["POST"])
@admin_required
def save_tax_rate():
    form = TaxRateForm()
    if form.validate_on_submit():
        try:
            tax_settings.set_rate(current_user.organization, form.country.data, form.rate.data)
        except TaxSettingsError as error:
            _show_error(form, error)
        else:
            flash(_l("The tax rate has been saved."), "success")
            return redirect(url_for("admin.invoicing_settings"))
    return _page(rate_form=form, status=422)


@bp.route("/invoicing/rates/<int:rate_id>/delete", methods=["POST"])
@admin_required
def delete_tax_rate(rate_id):
    rate = get_in_my_organization_or_404(TaxRate, rate_id)
    tax_settings.delete_rate(current_user.organization, rate)
    flash(_l("The tax rate has been removed."), "success")
    return redirect(url_for("admin.invoicing_settings"))


@bp.route("/invoices")
@admin_required
def invoices():
    return render("admin/invoices.html",
                  documents=invoicing.documents_of_seller(current_user.organization_id))


@bp.route("/invoices/<int:invoice_id>.pdf")
@admin_required
def invoice_pdf(invoice_id):
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.seller_id != current_user.organization_id:
        abort(404)
    return pdf_download(invoice)
