from flask import flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.account import bp
from app.blueprints.account.forms import ChangePasswordForm, ProfileForm
from app.services import accounts
from app.web import form_status, render


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        accounts.update_profile(current_user, form.name.data, form.locale.data, form.timezone.data)
        flash(_l("Your profile has been saved."), "success")
        return redirect(url_for("account.profile"))
    return render("account/profile.html", form=form, status=form_status(form))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.password.data)
        except accounts.AccountError as error:
            getattr(form, error.field).errors.append(error.message)
        else:
            flash(_l("Your password has been changed."), "success")
            return redirect(url_for("account.profile"))
    return render("account/password.html", form=form, status=form_status(form))
