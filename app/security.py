"""Security headers on every response."""

from flask import g, request
from flask_login import current_user

CSP_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
]


def allow_form_action(*origins):
    """Let this response's forms lead to these origins too (a form post that redirects to
    the payment provider's page counts as going there)."""
    g.setdefault("form_action_origins", []).extend(origins)


def content_security_policy():
    form_action = " ".join(["'self'", *g.get("form_action_origins", [])])
    return "; ".join([*CSP_DIRECTIVES, f"form-action {form_action}"])


def is_personal():
    """A page for a signed-in user, or one reached through a link's token (an order, a reset or
    setup link, a personal room link): no shared cache may keep it, nor a browser after leaving."""
    if request.endpoint == "static":
        return False
    return "token" in (request.view_args or {}) or current_user.is_authenticated


def init_app(app):
    if app.config["TRUST_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    hsts = f"max-age={app.config['HSTS_MAX_AGE']}; includeSubDomains"

    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy())
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.is_secure:
            headers["Strict-Transport-Security"] = hsts
        if is_personal():
            headers["Cache-Control"] = "no-store"
        # Pages differ for htmx requests (fragments) and by language.
        headers.add("Vary", "HX-Request")
        headers.add("Vary", "Cookie")
        return response
