"""Run the portal as real separate processes — gunicorn app servers and `flask` commands — for
tests about what several machines share, and a cookie-keeping browser that can visit any of them."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar
from typing import NamedTuple

from tests.fakes.smtp import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi.py"]
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def portal_env(**settings):
    """This process's environment without its LECTERN_* settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LECTERN_")}
    env.update({f"LECTERN_{name}": str(value) for name, value in settings.items()})
    return env


def flask_command(args, env):
    return subprocess.run(FLASK + args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def flask_commands_at_once(commands, env):
    """Start every command (a list of arguments each) at the same moment, as cron would on
    several machines; returns their outputs once all have ended successfully."""
    processes = [
        subprocess.Popen(FLASK + args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for args in commands
    ]
    outputs = []
    for args, process in zip(commands, processes):
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, f"flask {' '.join(args)} failed:\n{err}"
        outputs.append(out)
    return outputs


class AppServer:
    """The portal under gunicorn, as in production, on a free loopback port."""

    def __init__(self, env, workers=2):
        self.env = env
        self.workers = workers
        self.url = f"http://127.0.0.1:{free_port()}"

    def start(self):
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            # No control socket: its default path is one per machine, and two servers share it here.
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--no-control-socket",
             "--bind", self.url.removeprefix("http://"), "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_until_serving(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                urllib.request.urlopen(self.url + "/auth/sign-in", timeout=5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.log.seek(0)
        raise RuntimeError(f"gunicorn did not start:\n{self.log.read().decode(errors='replace')[-3000:]}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown

    def wait_until_stopped(self):
        self.process.wait(10)
        self.log.close()


@contextmanager
def app_servers(env, count=2, workers=2):
    """`count` app servers started side by side, like machines behind a load balancer."""
    servers = [AppServer(env, workers) for _ in range(count)]
    for server in servers:
        server.start()
    try:
        for server in servers:
            server.wait_until_serving()
        yield servers
    finally:
        for server in servers:
            server.stop()
        for server in servers:
            server.wait_until_stopped()


class Page(NamedTuple):
    status: int
    url: str  # where the browser ended up, after redirects
    text: str


class Browser:
    """Follows redirects and keeps cookies; cookies for 127.0.0.1 go to every port, so one
    browser visiting two servers carries the same session to both."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, url):
        return self._open(url)

    def post_form(self, url, data, page=None):
        """POST like a browser: with the CSRF token of the page the form is on (`page`, else
        the URL itself), which may come from another server."""
        token = CSRF_TOKEN.search(self.get(page or url).text).group(1)
        return self._open(url, urllib.parse.urlencode(dict(data, csrf_token=token)).encode())

    def _open(self, url, body=None):
        try:
            with self.opener.open(url, data=body, timeout=10) as response:
                return Page(response.status, response.url, response.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.code, error.url, error.read().decode())
