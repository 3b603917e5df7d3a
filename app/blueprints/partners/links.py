"""The "Set up now" link's URL, for views and for `flask partners dispatch` alike."""

from flask import current_app

from app.services.partner_orders import make_setup_token
from app.web import external_url


def setup_link_for(order, handoff, email):
    token = make_setup_token(order, current_app.config["SECRET_KEY"], handoff, email)
    return external_url("partners.setup", token=token)


def setup_link_max_age():
    return current_app.config["SETUP_LINK_DAYS"] * 24 * 3600
