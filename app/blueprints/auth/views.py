from flask import current_app, flash, redirect, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from app.blueprints.auth import bp
from app.blueprints.auth.forms import ForgotPasswordForm, ResetPasswordForm, SignInForm, SignUpForm
from app.extensions import limiter
from app.services import accounts
from app.web import external_url, form_status, next_or, render


def _sign_in_limit():
    return current_app.config["RATELIMIT_SIGN_IN"]


def _reset_limit():
    return current_app.config["RATELIMIT_PASSWORD_RESET"]


def _submitted_email():
    return "email:" + accounts.normalize_email(request.form.get("email", ""))


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignUpForm(next=request.args.get("next", ""), email=request.args.get("email", ""))
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(
                form.name.data,
                form.email.data,
                form.password.data,
                form.organization_name.data,
                locale=str(get_locale()),
                timezone=str(get_timezone()),
            )
        except accounts.AccountError as error:
            getattr(form, error.field).errors.append(error.message)
        else:
            login_user(user)
            flash(_l("Welcome to Lectern! Your organisation has been created."), "success")
            return redirect(next_or("main.home"))
    return render("auth/sign_up.html", form=form, status=form_status(form))


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], key_func=_submitted_email)
def sign_in():
    if current_user.is_authenticated:
        return redirect(next_or("main.home"))
    form = SignInForm(next=request.args.get("next", ""), email=request.args.get("email", ""))
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_l("The email address or password is not correct."))
        else:
            login_user(user, remember=form.remember.data)
            return redirect(next_or("main.home"))
    form.password.data = ""
    return render("auth/sign_in.html", form=form, status=form_status(form))


@bp.route("/sign-out", methods=["POST"])
@login_required
def sign_out():
    logout_user()
    flash(_l("You have been signed out."), "success")
    return redirect(url_for("main.home"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
@limiter.limit(_reset_limit, methods=["POST"], key_func=_submitted_email)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        secret = current_app.config["SECRET_KEY"]
        accounts.request_password_reset(
            form.email.data,
            fallback_locale=str(get_locale()),
            reset_url_for=lambda user: external_url(
                "auth.reset_password", token=accounts.make_reset_token(user, secret)
            ),
            valid_hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600,
        )
        flash(
            _l("If an account exists for that address, we have sent it a link to choose a new password."),
            "success",
        )
        return redirect(url_for("auth.sign_in"))
    return render("auth/forgot_password.html", form=form, status=form_status(form))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token):
    return _choose_password(token, "reset", current_app.config["PASSWORD_RESET_MAX_AGE"])


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def set_password(token):
    """A new member's first password, from the link in their invitation."""
    return _choose_password(token, "setup", current_app.config["ACCOUNT_SETUP_MAX_AGE"])


def _choose_password(token, purpose, max_age):
    try:
        user = accounts.user_for_reset_token(token, current_app.config["SECRET_KEY"], max_age, purpose)
    except accounts.AccountError as error:
        return render("auth/reset_link_invalid.html", message=error.message, status=400)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        accounts.reset_password(user, form.password.data)
        logout_user()
        flash(_l("Your password has been changed. You can sign in with it now."), "success")
        return redirect(url_for("auth.sign_in"))
    return render(
        "auth/reset_password.html", form=form, purpose=purpose, status=form_status(form)
    )
