"""Site administration: people, departments and the organisation's own settings."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    ROLE_LABELS,
    AddMemberForm,
    DepartmentForm,
    MemberForm,
    OrganizationForm,
)
from app.extensions import db
from app.models import Department, User
from app.services import accounts
from app.web import (
    admin_required,
    external_url,
    form_status,
    get_in_my_organization_or_404,
    render,
    wants_fragment,
)


def _members():
    return db.session.scalars(
        select(User)
        .options(selectinload(User.department))
        .where(User.organization_id == current_user.organization_id)
        .order_by(User.name)
    ).all()


def _member_form(organization, member, formdata=None):
    return MemberForm(
        organization,
        formdata=formdata,
        obj=member,
        prefix=f"m{member.id}",
        department=str(member.department_id or ""),
    )


def _render_people(add_form, status=200, submitted=None):
    """The people page; `submitted` is a row form that failed and must show its errors."""
    organization = current_user.organization
    rows = [
        (member, submitted if submitted and submitted.member_id == member.id
         else _member_form(organization, member))
        for member in _members()
    ]
    return render(
        "admin/people.html", add_form=add_form, rows=rows, role_labels=ROLE_LABELS, status=status
    )


@bp.route("/")
@admin_required
def index():
    return redirect(url_for("admin.people"))


@bp.route("/people", methods=["GET", "POST"])
@admin_required
def people():
    organization = current_user.organization
    form = AddMemberForm(organization)
    if form.validate_on_submit():
        secret = current_app.config["SECRET_KEY"]
        try:
            accounts.add_member(
                organization,
                form.name.data,
                form.email.data,
                form.role.data,
                int(form.department.data or 0),
                invite_url_for=lambda user: external_url(
                    "auth.set_password",
                    token=accounts.make_reset_token(user, secret, "setup"),
                ),
                locale=str(get_locale()),
                valid_days=current_app.config["ACCOUNT_SETUP_MAX_AGE"] // 86400,
            )
        except accounts.AccountError as error:
            getattr(form, error.field).errors.append(error.message)
        else:
            flash(_l("%(name)s has been added and emailed a link to choose a password.",
                     name=form.name.data), "success")
            return redirect(url_for("admin.people"))
    return _render_people(form, status=form_status(form))


@bp.route("/people/<int:user_id>", methods=["POST"])
@admin_required
def update_member(user_id):
    """Change one member's role or department; htmx swaps just that row."""
    member = get_in_my_organization_or_404(User, user_id)
    organization = current_user.organization
    form = MemberForm(organization, prefix=f"m{member.id}")
    form.member_id = member.id
    if form.validate_on_submit():
        try:
            accounts.update_member(organization, member, form.role.data, int(form.department.data or 0))
        except accounts.AccountError as error:
            getattr(form, error.field).errors.append(error.message)
    status = form_status(form)
    if wants_fragment():
        return render_template(
            "admin/_member_row.html", member=member, form=form, role_labels=ROLE_LABELS,
            saved=not form.errors,
        ), status
    if form.errors:
        return _render_people(AddMemberForm(organization), status=status, submitted=form)
    flash(_l("Changes to %(name)s have been saved.", name=member.name), "success")
    return redirect(url_for("admin.people"))


@bp.route("/departments", methods=["GET", "POST"])
@admin_required
def departments():
    organization = current_user.organization
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            accounts.add_department(organization, form.name.data)
        except accounts.AccountError as error:
            form.name.errors.append(error.message)
        else:
            flash(_l("The department %(name)s has been added.", name=form.name.data), "success")
            form = DepartmentForm(formdata=None)
    status = form_status(form)
    return render("admin/departments.html", "admin/_departments.html", status=status, form=form,
                  departments=organization.departments)


@bp.route("/departments/<int:department_id>/delete", methods=["POST"])
@admin_required
def delete_department(department_id):
    department = get_in_my_organization_or_404(Department, department_id)
    accounts.remove_department(current_user.organization, department)
    flash(_l("The department %(name)s has been removed.", name=department.name), "success")
    return redirect(url_for("admin.departments"))


@bp.route("/organization", methods=["GET", "POST"])
@admin_required
def organization():
    organization = current_user.organization
    form = OrganizationForm(obj=organization)
    if form.validate_on_submit():
        accounts.update_organization(
            organization, form.name.data, form.locale.data, form.timezone.data, form.currency.data,
            sender_name=form.sender_name.data or "", sender_email=form.sender_email.data or "",
            signature=form.signature.data or "", tax_exempt=form.tax_exempt.data,
            account_representative_email=(form.account_representative_email.data or "")
            if organization.is_operator else None,
        )
        flash(_l("The organisation's settings have been saved."), "success")
        return redirect(url_for("admin.organization"))
    return render("admin/organization.html", form=form, status=form_status(form))
