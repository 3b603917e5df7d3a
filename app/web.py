"""Small helpers every blueprint uses: access checks, htmx-aware rendering, safe redirects."""

from functools import wraps
from urllib.parse import urlsplit

from flask import Response, abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from app.extensions import db


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def operator_required(view):
    """Administrators of the organisation that runs the portal (plans, legal pages)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not (current_user.is_admin and current_user.organization.is_operator):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def get_in_my_organization_or_404(model, object_id):
    """Load an object of the signed-in user's organisation; others' objects do not exist."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.organization_id != current_user.organization_id:
        abort(404)
    return obj


def get_managed_session_or_404(session_id):
    """A training session the signed-in user may manage: its host, or an admin of its
    organisation. Other organisations' sessions do not exist (404); colleagues' are 403."""
    from app.models import TrainingSession
    from app.services.scheduling import can_manage

    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())  # to the sign-in page, then back
    session = db.session.get(TrainingSession, session_id)
    if session is None or session.organization_id != current_user.organization_id:
        abort(404)
    if not can_manage(current_user, session):
        abort(403)
    return session


def wants_fragment():
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page, fragment=None, status=200, **context):
    """The whole page, or only its fragment for an htmx request (one view, one URL)."""
    template = fragment if fragment and wants_fragment() else page
    return render_template(template, **context), status


def form_status(form):
    """422 for a form that comes back with errors (htmx swaps it in), else 200."""
    return 422 if form.errors else 200


def csv_attachment(text, filename):
    """A CSV file download (Flask adds "; charset=utf-8" to the type)."""
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def is_safe_next(target):
    """Only local paths: no scheme, no host, no protocol-relative //evil.example."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def next_or(default_endpoint):
    target = request.values.get("next")
    return target if is_safe_next(target) else url_for(default_endpoint)


def external_url(endpoint, **values):
    """An absolute link for an email, from the configured address, never the Host header.

    Works outside requests too (CLI tasks and workers queue mail).
    """
    base = urlsplit(current_app.config["EXTERNAL_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
