"""Command-line tasks: mail, demo data, payments, provisioning, billing, and a worker doing them all."""

import time

import click
from flask import current_app
from flask.cli import AppGroup

from app.services import checkout, demo, mail, partner_orders, provisioning, renewals, waitlist
from app.services.claims import claim
from app.services.payments import operator_paypal, provider_for_order
from app.services import reminders

mail_cli = AppGroup("mail", help="Deliver queued mail.")
demo_cli = AppGroup("demo", help="Demo data for a portal to look at.")
payments_cli = AppGroup("payments", help="Settle payments with the providers.")
provisioning_cli = AppGroup("provisioning", help="Set up sites whose plan was paid.")
billing_cli = AppGroup("billing", help="Renew subscriptions.")
partners_cli = AppGroup("partners", help="Partner orders.")
waitlist_cli = AppGroup("waitlist", help="Offer freed seats to the people waiting for them.")
reminders_cli = AppGroup("reminders", help="Remind attendees before their sessions start.")


@mail_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep running, checking for mail every few seconds.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between checks with --loop.")
def send_mail(loop, interval):
    """Deliver queued mail that is due (failed attempts are retried with backoff)."""
    while True:
        sent = mail.deliver_with_config(current_app.config, limit=500)
        click.echo(f"sent {sent} message(s)")
        if not loop:
            return
        time.sleep(interval)


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def load_demo(if_empty):
    """Create a demo organisation, its people and a few upcoming sessions."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Demo data signs in with a published password: not in production.")
    if demo.has_users():
        if not if_empty:
            raise click.ClickException("The database already has users; demo data is for an empty one.")
        click.echo("The database already has data; demo data not loaded again.")
    else:
        demo.load()
        click.echo("Demo data loaded.")
    if demo.is_loaded():
        click.echo("Sign in at /auth/sign-in with:")
        for role, email in demo.DEMO_LOGINS:
            click.echo(f"  {role:<8} {email}  password: {demo.DEMO_PASSWORD}")


@payments_cli.command("reconcile")
def reconcile():
    """Ask PayPal about unfinished payments: capture approved ones, drop abandoned ones,
    and release seat holds that ran out. Safe to run often and on several machines: one
    machine reconciles at a time, the others skip the round."""
    counts = _reconcile()
    if counts is None:
        click.echo("skipped: another machine is reconciling")
        return
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


def _reconcile():
    """The counts of one reconciliation, or None when another machine is running one. The
    steps for one payment are idempotent but not claimed one by one, so two reconciliations
    would ask PayPal twice and could count a retried refund twice."""
    with claim("payments-reconcile") as mine:
        return checkout.reconcile(provider_for_order) if mine else None


@provisioning_cli.command("run")
def run_provisioning():
    """Carry out the set-up of every site whose plan was paid; a run that failed part-way
    resumes at its first unfinished step."""
    finished, failed = provisioning.run_pending()
    click.echo(f"provisioned: {finished}, failed: {failed}")


@billing_cli.command("renew")
def renew():
    """Email renewal notices, charge or invoice subscriptions that are due, retry failed
    charges on schedule and cancel what stays unpaid. Safe to run more than once a day."""
    result = renewals.run(operator_paypal(current_app.config), renewals.RenewalPolicy.from_config(current_app.config))
    click.echo(", ".join(f"{name}: {count}" for name, count in result.counts.items()))


@partners_cli.command("dispatch")
def dispatch_partner_orders():
    """Email "Set up now" for partner orders whose start date has come, and alert the account
    representative once about setups not started a day after. Safe to run more than once a day."""
    result = _dispatch()
    click.echo(f"setup links sent: {result.sent}, escalated: {result.escalated}")


def _dispatch():
    from app.blueprints.partners.links import setup_link_for

    representative = partner_orders.representative_email(current_app.config["ACCOUNT_REPRESENTATIVE_EMAIL"])
    return partner_orders.dispatch(setup_link_for, representative)


@reminders_cli.command("send")
def send_reminders():
    """Queue the reminders that are due (by default 24 hours and 1 hour before the start).
    Safe to run often and on several machines: each reminder is queued once."""
    click.echo(f"reminders queued: {reminders.send_due()}")


@waitlist_cli.command("run")
def run_waitlist():
    """Let waitlist offers that ran out lapse and offer free seats to the next people waiting.
    Safe to run often and on several machines: each session is done by one machine a round."""
    counts = waitlist.run_due()
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


@click.command("worker")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between rounds.")
@click.option("--once", is_flag=True, help="One round, then stop.")
def worker(interval, once):
    """Everything in the background, in one process: mail, provisioning, partner orders,
    payments, renewals."""
    policy = renewals.RenewalPolicy.from_config(current_app.config)
    while True:
        provisioning.run_pending()
        _dispatch()
        _reconcile()
        renewals.run(operator_paypal(current_app.config), policy)
        waitlist.run_due()
        reminders.send_due()
        mail.deliver_with_config(current_app.config, limit=500)
        if once:
            return
        time.sleep(interval)


def init_app(app):
    app.cli.add_command(mail_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(payments_cli)
    app.cli.add_command(provisioning_cli)
    app.cli.add_command(billing_cli)
    app.cli.add_command(partners_cli)
    app.cli.add_command(waitlist_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(worker)
