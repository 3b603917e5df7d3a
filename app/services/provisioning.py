"""Setting up a site after its plan is paid (`flask provisioning run`, and the demo's worker).

A job is a list of steps. Each step commits with the record that it is done, so a run that
crashes part-way leaves the finished steps recorded and the next run carries on from the
first step not done. Steps only add to a site: its sessions, settings and reports stay.
Several machines may run at once: a job is carried out under a claim (services/claims.py)
that the others skip, and each step re-checks under the job's row lock that it is not done.
"""

from sqlalchemy import select

from app.extensions import db
from app.models import Organization, ProvisioningJob, Subscription
from app.models.base import utcnow
from app.services import subscription_mail
from app.services.claims import claim
from app.services.locks import Busy, lock_row


def _assign_site_url(subscription):
    """The site URL the buyer chose; if someone else took it meanwhile, the nearest free one."""
    from app.services.subscriptions import free_variant

    organization = lock_row(Organization, subscription.organization_id)
    wanted = free_variant(subscription.site_subdomain, organization.id)
    subscription.site_subdomain = wanted
    organization.subdomain = wanted


def _activate(subscription):
    if subscription.state != "provisioning":  # canceled meanwhile: nothing to switch on
        return
    subscription.state = "active"
    subscription_mail.queue(subscription, "site_ready")


# In order; names are stored in the job, so renaming one is a data migration.
STEPS = (
    ("site_url", _assign_site_url),
    ("activate", _activate),
)


def run_pending(now=None, steps=STEPS):
    """Carry every unfinished job as far as it goes. Returns (finished, failed) counts."""
    finished = failed = 0
    job_ids = db.session.scalars(
        select(ProvisioningJob.id).where(ProvisioningJob.state == "pending").order_by(ProvisioningJob.id)
    ).all()
    for job_id in job_ids:
        with claim("provisioning", job_id) as mine:
            if not mine:
                continue  # another machine is running it
            try:
                finished += _run_job(job_id, steps, now or utcnow())
            except Busy:
                continue  # a person is changing the subscription: the next run resumes
            except Exception as error:  # noqa: BLE001 - recorded on the job; the next run resumes
                db.session.rollback()
                _record_failure(job_id, error)
                failed += 1
    return finished, failed


def _run_job(job_id, steps, now):
    job = lock_row(ProvisioningJob, job_id)
    if job.state == "done":
        db.session.rollback()
        return 0
    job.attempts += 1
    db.session.commit()
    for name, step in steps:
        job = lock_row(ProvisioningJob, job_id)
        if name in job.steps_done.split():
            db.session.rollback()
            continue
        subscription = lock_row(Subscription, job.subscription_id)
        step(subscription)
        job.steps_done = f"{job.steps_done}{name}\n"
        db.session.commit()
    job = lock_row(ProvisioningJob, job_id)
    job.state, job.finished_at, job.last_error = "done", now, ""
    db.session.commit()
    return 1


def _record_failure(job_id, error):
    job = db.session.get(ProvisioningJob, job_id)
    job.last_error = f"{type(error).__name__}: {error}"[:2000]
    db.session.commit()
