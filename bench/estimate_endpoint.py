"""Benchmark the Estimated session cost's htmx endpoint against a bare Flask endpoint.

Starts gunicorn (2 workers) serving bench/estimate_app.py on a fresh SQLite database with a
pay-per-use session, signs a host in, then drives POST /sessions/<id>/cost/preview and the bare
POST /bare/estimate with the same client threads, and prints requests per second and p50/p99
latency, with the ratio to the bare endpoint measured in the same run.
Run: make bench-estimate   (or: .venv/bin/python bench/estimate_endpoint.py [seconds] [clients])
"""

import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PORT = 5099


def prepare_database(url):
    from app import create_app
    from app.extensions import db
    from app.models import TrainingSession
    from app.services import commerce
    from tests import factories

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.create_all()
        host = factories.make_user(role="host", email="bench@example.com")
        commerce.update_settings(host.organization, enabled=True, pay_per_use=True,
                                 person_minute_rate=Decimal("0.35"), teleconference_minute_rate=Decimal("1.5"))
        session = factories.make_session(host=host, state="awaiting_payment")
        session_id = session.id
        assert db.session.get(TrainingSession, session_id)
        db.engine.dispose()
    return session_id, "bench@example.com", factories.PASSWORD


def request(method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data.decode()


def sign_in(email, password):
    response, html = request("GET", "/auth/sign-in")
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password})
    response, _ = request("POST", "/auth/sign-in", body, {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    return response.getheader("Set-Cookie").split(";", 1)[0]


def drive(path, body, headers, seconds, clients):
    latencies, errors, stop = [], [], time.monotonic() + seconds
    lock = threading.Lock()

    def client():
        while time.monotonic() < stop:
            started = time.perf_counter()
            response, _ = request("POST", path, body, headers)
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if response.status == 200 else errors).append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": len(errors),
    }


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite"
        session_id, email, password = prepare_database(url)
        env = dict(os.environ, LECTERN_DATABASE_URL=url, LECTERN_MAIL_FILE_DIR=f"{folder}/mail",
                   LECTERN_RATELIMIT_SIGN_IN="1000 per minute", PYTHONPATH=str(ROOT))
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{PORT}",
             "--log-level", "warning", "bench.estimate_app:app"], cwd=ROOT, env=env)
        try:
            for _ in range(100):
                try:
                    request("GET", "/auth/sign-in")
                    break
                except OSError:
                    time.sleep(0.1)
            cookie = sign_in(email, password)
            _, page = request("GET", f"/sessions/{session_id}/cost", headers={"Cookie": cookie})
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            form = urllib.parse.urlencode({"duration_min": "90", "computers": "25",
                                           "teleconference_computers": "4"})
            headers = {"Cookie": cookie, "X-CSRFToken": token, "HX-Request": "true",
                       "Content-Type": "application/x-www-form-urlencoded"}
            drive("/bare/estimate", form, headers, 2, clients)  # warm up both
            drive(f"/sessions/{session_id}/cost/preview", form, headers, 2, clients)
            bare = drive("/bare/estimate", form, headers, seconds, clients)
            ours = drive(f"/sessions/{session_id}/cost/preview", form, headers, seconds, clients)
        finally:
            server.terminate()
            server.wait(10)
    print(f"gunicorn 2 workers, {clients} clients, {seconds:.0f} s each, new connection per request")
    for name, figures in (("bare Flask POST", bare), ("estimate htmx partial", ours)):
        print(f"{name:24} {figures['rps']:8.1f} req/s  p50 {figures['p50']:6.1f} ms  "
              f"p99 {figures['p99']:6.1f} ms  errors {figures['errors']}")
    print(f"estimate partial / bare: {ours['rps'] / bare['rps']:.2f}x requests per second")


if __name__ == "__main__":
    main()
