"""With a Redis URL, sign-in limits are shared by every app process, not kept per process."""

import os
import uuid

import pytest
import redis

from tests.conftest import IN_CI
from tests.processes import AppProcess, flask_command, portal_env

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return REDIS_URL


def test_two_app_processes_share_one_sign_in_limit(tmp_path, redis_url):
    env = portal_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite'}",
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_SIGN_IN="3 per minute",
        MAIL_FILE_DIR=tmp_path / "mail",
        # A fresh prefix per run, so earlier runs' counts in Redis do not matter.
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
    )
    flask_command(["db", "upgrade"], env)
    flask_command(["demo", "load"], env)
    guess = {"email": "admin@example.com", "password": "wrong"}

    with AppProcess(env) as first, AppProcess(env) as second:
        statuses = [first.post_form("/auth/sign-in", guess) for _ in range(2)]
        statuses += [second.post_form("/auth/sign-in", guess) for _ in range(2)]

    assert statuses == [422, 422, 422, 429]


def test_without_redis_each_process_counts_alone(tmp_path):
    env = portal_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'alone.sqlite'}",
        RATELIMIT_SIGN_IN="3 per minute",
        MAIL_FILE_DIR=tmp_path / "mail",
    )
    flask_command(["db", "upgrade"], env)
    guess = {"email": "nobody@example.com", "password": "wrong"}

    with AppProcess(env) as first, AppProcess(env) as second:
        statuses = [first.post_form("/auth/sign-in", guess) for _ in range(2)]
        statuses += [second.post_form("/auth/sign-in", guess) for _ in range(2)]

    assert statuses == [422, 422, 422, 422]
