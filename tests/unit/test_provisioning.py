"""Setting up a site after its plan is paid: steps recorded one by one, a failed run resumes
where it stopped, the site URL the buyer chose (or the nearest free one)."""

from datetime import datetime, timezone

from app.extensions import db
from app.models import Organization, ProvisioningJob, Subscription
from app.services import provisioning, subscriptions
from tests import factories
from tests.subscription_factories import buy, mails, make_subscription

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)


def paid_plan(site_subdomain, **fields):
    """A subscription waiting for its site, with its job, as paying for a plan leaves it."""
    subscription = make_subscription(state="provisioning", site_subdomain=site_subdomain, **fields)
    job = ProvisioningJob(subscription=subscription)
    db.session.add(job)
    db.session.commit()
    return subscription, job


def being_set_up(organization_id):
    """What the "your site is being set up" banner on every page asks."""
    return subscriptions.live_subscription_state(organization_id) == "provisioning"


def reload(*objects):
    db.session.expire_all()
    return [db.session.get(type(o), o.id) for o in objects]


def test_a_paid_plan_gets_its_site_and_the_buyer_is_told_it_is_ready(app, paypal):
    subscription = buy(app, paypal, site_subdomain="acme-training")
    organization = subscription.organization
    assert subscription.state == "provisioning"
    assert being_set_up(organization.id)
    assert organization.subdomain != "acme-training"

    assert provisioning.run_pending(NOW) == (1, 0)

    subscription, organization = reload(subscription, organization)
    job = db.session.query(ProvisioningJob).filter_by(subscription_id=subscription.id).one()
    assert (job.state, job.steps_done, job.attempts, job.last_error) == ("done", "site_url\nactivate\n", 1, "")
    assert job.finished_at == NOW
    assert subscription.state == "active"
    assert organization.subdomain == subscription.site_subdomain == "acme-training"
    assert not being_set_up(organization.id)
    [ready] = mails("site_ready")
    assert ready.recipient == subscription.buyer.email
    assert "https://acme-training.lectern.localhost" in ready.body_text

    assert provisioning.run_pending(NOW) == (0, 0)  # nothing left to do
    assert len(mails("site_ready")) == 1


def test_a_failing_step_is_recorded_and_the_next_run_resumes_from_it_without_repeating_done_steps(app):
    subscription, job = paid_plan("acme-training")
    calls = {"site_url": 0, "numbers": 0}

    def site_url(s):
        calls["site_url"] += 1
        provisioning._assign_site_url(s)

    def numbers(s):
        calls["numbers"] += 1
        s.calling_plan = "toll_free"  # written, then lost with the failure
        if calls["numbers"] == 1:
            raise RuntimeError("the number service did not answer")

    steps = (("site_url", site_url), ("numbers", numbers), ("activate", provisioning._activate))

    assert provisioning.run_pending(NOW, steps) == (0, 1)

    job, subscription = reload(job, subscription)
    assert job.state == "pending" and job.steps_done == "site_url\n" and job.attempts == 1
    assert job.last_error == "RuntimeError: the number service did not answer"
    assert subscription.state == "provisioning" and subscription.calling_plan == "computer_audio"
    assert subscription.organization.subdomain == "acme-training"  # the finished step stays done
    assert being_set_up(subscription.organization_id)
    assert mails("site_ready") == []

    assert provisioning.run_pending(NOW, steps) == (1, 0)

    job, subscription = reload(job, subscription)
    assert calls == {"site_url": 1, "numbers": 2}
    assert job.state == "done" and job.steps_done == "site_url\nnumbers\nactivate\n"
    assert job.last_error == "" and job.attempts == 2
    assert subscription.state == "active" and subscription.calling_plan == "toll_free"
    assert len(mails("site_ready")) == 1


def test_one_failing_job_does_not_hold_up_the_others(app):
    failing, failing_job = paid_plan("first-site")
    fine, fine_job = paid_plan("second-site")

    def picky(s):
        if s.id == failing.id:
            raise ValueError("no")

    finished, failed = provisioning.run_pending(NOW, (("picky", picky), ("activate", provisioning._activate)))

    assert (finished, failed) == (1, 1)
    failing, fine = reload(failing, fine)
    assert (failing.state, fine.state) == ("provisioning", "active")


def test_a_site_url_taken_meanwhile_falls_back_to_the_nearest_free_one(app):
    factories.make_organization(subdomain="acme")  # took it after the buyer chose it
    make_subscription(state="pending", site_subdomain="acme-2")  # someone else's purchase wants this
    subscription, _ = paid_plan("acme")

    provisioning.run_pending(NOW)

    [subscription] = reload(subscription)
    assert subscription.state == "active"
    assert subscription.site_subdomain == "acme-3"
    assert subscription.organization.subdomain == "acme-3"
    assert "https://acme-3.lectern.localhost" in mails("site_ready")[0].body_text


def test_the_organisations_own_subdomain_is_not_taken_from_itself(app):
    organization = factories.make_organization(subdomain="own-name")
    buyer = factories.make_user(organization, role="admin")
    subscription, _ = paid_plan("own-name", buyer=buyer)

    provisioning.run_pending(NOW)

    subscription, organization = reload(subscription, organization)
    assert organization.subdomain == subscription.site_subdomain == "own-name"


def test_a_plan_canceled_before_its_site_was_ready_is_not_switched_on(app):
    subscription, job = paid_plan("late-site")
    subscription.state = "canceled"
    db.session.commit()

    assert provisioning.run_pending(NOW) == (1, 0)

    subscription, job = reload(subscription, job)
    assert subscription.state == "canceled" and job.state == "done"
    assert mails("site_ready") == []


def test_the_set_up_banner_shows_only_while_provisioning(app):
    subscription, _ = paid_plan("banner-site")
    other = factories.make_organization()

    assert being_set_up(subscription.organization_id)
    assert not being_set_up(other.id)
    provisioning.run_pending(NOW)
    assert not being_set_up(subscription.organization_id)
    assert db.session.get(Organization, subscription.organization_id).subdomain == "banner-site"
    assert db.session.get(Subscription, subscription.id).state == "active"
