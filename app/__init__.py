"""Lectern: paid training sessions and webinars."""

import sqlite3

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import BASE_DIR, DEFAULT_SECRET_KEY, INSTANCE_DIR, config_for


def create_app(config_name=None, **overrides):
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_for(config_name))
    app.config.update(overrides)
    app.jinja_env.add_extension("jinja2.ext.do")
    _refuse_unsafe_production(app)
    INSTANCE_DIR.mkdir(exist_ok=True)

    from app import cli, errors, i18n, security
    from app.extensions import csrf, db, htmx, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    _configure_login(login_manager)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    _register_blueprints(app)
    _deliver_mail_after_requests(app)
    return app


def _refuse_unsafe_production(app):
    if app.config["ENV_NAME"] == "production" and app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        raise RuntimeError(
            "LECTERN_SECRET_KEY must be set to a long random value in production "
            "(for example: python3 -c 'import secrets; print(secrets.token_hex(32))')."
        )


def _configure_login(login_manager):
    from flask_babel import lazy_gettext as _l
    from sqlalchemy.orm import joinedload

    from app.extensions import db
    from app.models import User

    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    # Nearly every page for a signed-in user reads their organisation: load both at once.
    login_manager.user_loader(lambda user_id: db.session.get(
        User, int(user_id), options=[joinedload(User.organization)]
    ))


def _register_blueprints(app):
    from app.blueprints.account import bp as account_bp
    from app.blueprints.admin import bp as admin_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.cancellations import bp as cancellations_bp
    from app.blueprints.checkout import bp as checkout_bp
    from app.blueprints.cost import bp as cost_bp
    from app.blueprints.invitations import bp as invitations_bp
    from app.blueprints.join import bp as join_bp
    from app.blueprints.main import bp as main_bp
    from app.blueprints.partners import bp as partners_bp
    from app.blueprints.plans import bp as plans_bp
    from app.blueprints.scheduling import bp as scheduling_bp
    from app.blueprints.waitlist import bp as waitlist_bp
    from app.blueprints.webhooks import bp as webhooks_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(scheduling_bp)  # /sessions/… for hosts, /s/<slug> for everyone
    app.register_blueprint(checkout_bp)  # /checkout/<token>/…
    app.register_blueprint(cancellations_bp)  # /c/<token>: an attendee cancels from their email
    app.register_blueprint(webhooks_bp)  # /webhooks/<provider>/…
    app.register_blueprint(invitations_bp)  # /sessions/<id>/invitations/…, /invitations/lists/…
    app.register_blueprint(join_bp)  # /j/<token>, /s/<slug>/join: the room gate
    app.register_blueprint(cost_bp)  # /sessions/<id>/cost: the Estimated session cost (pay-per-use)
    app.register_blueprint(plans_bp, url_prefix="/plans")  # pricing, cart, checkout; /plans/manage
    app.register_blueprint(partners_bp, url_prefix="/partners")  # orders, setup wizard, service setup
    app.register_blueprint(waitlist_bp)  # /s/<slug>/waitlist, /w/<token>: the offer, /sessions/<id>/waitlist


def _deliver_mail_after_requests(app):
    """In a single-process set-up, send what a request queued as soon as it has committed."""
    if not app.config["MAIL_DELIVER_AFTER_REQUEST"]:
        return
    from flask import g

    from app.extensions import db
    from app.services import mail

    @app.after_request
    def deliver_queued_mail(response):
        if g.pop("mail_queued", False):
            db.session.rollback()  # the view has committed what it meant to; drop the rest
            mail.deliver_with_config(app.config, limit=20)
        return response


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
