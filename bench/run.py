"""The load benchmark: Lectern's pages against a bare Flask "hello", measured in the same run.

1. Makes a fresh PostgreSQL database, migrates it and loads the demo data plus the rows the
   pages need, and counts SQL statements per page (small data).
2. Scales the data up (1,000 sessions, 50,000 registrations, 100,000 invitations by default)
   and counts again (large data): the counts must not grow.
3. Serves the portal and the bare app with the same gunicorn settings (2 sync workers, as in
   production, with rate limits in Redis) and drives each page with wrk; prints requests per
   second and p50/p99 latency, and their ratios to the bare app's.

Run: make bench   (or: .venv/bin/python bench/run.py --help)
"""

import argparse
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services.demo import DEMO_PASSWORD  # noqa: E402
from bench import pages as bench_pages  # noqa: E402
from bench import wrk  # noqa: E402
from bench.query_counts import queries_per_page  # noqa: E402
from bench.scale_data import scale_up  # noqa: E402

PORTAL_PORT, BARE_PORT = 5091, 5092
TARGET_PAGE, TARGET_PARTIAL, TARGET_P99_MS = 0.5, 0.7, 50


def main():
    options = _options()
    database_url = f"{options.server}/{options.database}"
    secret_key = secrets.token_hex(32)
    env = _portal_env(database_url, secret_key, options)
    _recreate_database(options.server, options.database)
    _flask(["db", "upgrade"], env)
    _flask(["demo", "load"], dict(env, LECTERN_ENV="development"))  # refused in production

    app = create_app("production", SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=secret_key,
                     WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, SESSION_COOKIE_SECURE=False,
                     MAIL_FILE_DIR=env["LECTERN_MAIL_FILE_DIR"])
    with app.app_context():
        pages = bench_pages.prepare(secret_key)
        small = queries_per_page(app, pages, bench_pages.HOST_EMAIL)
        print(f"scaling up: {options.sessions} sessions, {options.registrations} registrations, "
              f"{options.invitations} invitations …", flush=True)
        scale_up(options.sessions, options.registrations, options.invitations)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        large = queries_per_page(app, pages, bench_pages.HOST_EMAIL)
        db.engine.dispose()

    with _gunicorn("bench.bare_app:app", BARE_PORT, env, options.threads), \
            _gunicorn("wsgi:app", PORTAL_PORT, env, options.threads):
        cookie, csrf_token = _sign_in(f"http://127.0.0.1:{PORTAL_PORT}", bench_pages.HOST_EMAIL)
        bare = {method: _drive(f"http://127.0.0.1:{BARE_PORT}/", method, "", {}, options)
                for method in ("GET", "POST")}
        results = {}
        for page in pages:
            results[page.name] = _drive(f"http://127.0.0.1:{PORTAL_PORT}{page.path}", page.method,
                                        page.body, _headers(page, cookie, csrf_token), options)
    _report(options, pages, bare, results, small, large)


def _headers(page, cookie, csrf_token):
    """What a browser sends: the session cookie when signed in or posting (the CSRF token is
    kept in the session), the token with a POST, HX-Request for a partial."""
    headers = {}
    if page.signed_in or page.method == "POST":
        headers["Cookie"] = cookie
    if page.method == "POST":
        headers.update({"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": csrf_token})
    if page.htmx:
        headers["HX-Request"] = "true"
    return headers


def _options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get(
        "BENCH_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    parser.add_argument("--database", default="lectern_bench")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--registrations", type=int, default=50_000)
    parser.add_argument("--invitations", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="per page, after a 2 s warm-up")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1,
                        help="gunicorn threads per worker, for both apps (above 1: gthread workers)")
    return parser.parse_args()


def _portal_env(database_url, secret_key, options):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LECTERN_")}
    env.update({
        "LECTERN_ENV": "production", "LECTERN_DATABASE_URL": database_url,
        "LECTERN_SECRET_KEY": secret_key, "LECTERN_SECURE_COOKIES": "false",
        "LECTERN_RATELIMIT_STORAGE_URI": options.redis,
        "LECTERN_RATELIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
        # The benchmark signs in once and applies a coupon thousands of times a second.
        "LECTERN_RATELIMIT_SIGN_IN": "1000000 per minute",
        "LECTERN_RATELIMIT_COUPON": "1000000 per minute",
        "LECTERN_MAIL_TRANSPORT": "file", "LECTERN_MAIL_FILE_DIR": "/tmp/lectern-bench-mail",
        "FLASK_APP": "wsgi.py", "PYTHONPATH": str(ROOT),
    })
    return env


def _recreate_database(server, name):
    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def _flask(args, env):
    done = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr}")


@contextmanager
def _gunicorn(target, port, env, threads):
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", target], cwd=ROOT, env=env)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/")
        yield
    finally:
        server.terminate()
        server.wait(10)


def _wait_until_up(url):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _sign_in(base_url, email):
    """The host's session cookie and its CSRF token, as a browser would hold them."""
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(base_url + "/auth/sign-in") as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.read().decode()).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": DEMO_PASSWORD}).encode()
    request = urllib.request.Request(base_url + "/auth/sign-in", data=body, headers={"Cookie": cookie})
    try:
        opener.open(request)
    except urllib.error.HTTPError as redirect:
        if redirect.code != 302:
            raise
        return redirect.headers["Set-Cookie"].split(";", 1)[0], token
    raise RuntimeError("signing in did not redirect")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _drive(url, method, body, headers, options):
    wrk.run(url, method, body, headers, seconds=2, clients=options.clients)  # warm-up
    return wrk.run(url, method, body, headers, seconds=options.seconds, clients=options.clients)


def _report(options, pages, bare, results, small, large):
    workers = "2 sync workers" if options.threads == 1 else f"2 workers × {options.threads} threads"
    print(f"\ngunicorn, {workers} each; wrk, {options.clients} connections, {options.seconds} s per page")
    print(f"bare Flask hello: GET {bare['GET'].rps:.0f} req/s (p50 {bare['GET'].p50_ms:.1f} ms, "
          f"p99 {bare['GET'].p99_ms:.1f} ms); POST {bare['POST'].rps:.0f} req/s "
          f"(p50 {bare['POST'].p50_ms:.1f} ms, p99 {bare['POST'].p99_ms:.1f} ms)\n")
    header = (f"{'page':26} {'req/s':>7} {'× bare':>7} {'target':>7} {'p50 ms':>7} {'× bare':>7} "
              f"{'p99 ms':>7} {'× bare':>7} {'fails':>6} {'SQL small':>9} {'SQL large':>9}")
    print(header)
    print("-" * len(header))
    for page in pages:
        ours, base = results[page.name], bare[page.method]
        target = TARGET_PARTIAL if page.htmx else TARGET_PAGE
        print(f"{page.name:26} {ours.rps:7.0f} {ours.rps / base.rps:7.2f} {target:7.1f} "
              f"{ours.p50_ms:7.1f} {ours.p50_ms / base.p50_ms:7.1f} {ours.p99_ms:7.1f} "
              f"{ours.p99_ms / base.p99_ms:7.1f} {ours.failures:6d} {small[page.name]:9d} "
              f"{large[page.name]:9d}")
    slow = [p.name for p in pages if results[p.name].p99_ms > TARGET_P99_MS]
    grew = [p.name for p in pages if large[p.name] > small[p.name]]
    print(f"\np99 over {TARGET_P99_MS} ms: {', '.join(slow) or 'none'}")
    print(f"SQL statements growing with data: {', '.join(grew) or 'none'}")


if __name__ == "__main__":
    main()
