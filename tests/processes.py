"""Run the portal as real separate processes (`flask run`) for tests about shared state."""

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from tests.fakes.smtp import free_port

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi.py"]


def flask_command(args, env):
    return subprocess.run(FLASK + args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)


class AppProcess:
    """One portal process on a free loopback port, with its own cookie-keeping browser."""

    def __init__(self, env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def __enter__(self):
        self.process = subprocess.Popen(
            FLASK + ["run", "--port", str(self.port)], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.get("/auth/sign-in")
                return self
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("the portal process did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)

    def get(self, path):
        with self.opener.open(self.url + path, timeout=10) as response:
            return response.status, response.read().decode()

    def post_form(self, path, data):
        """POST like the browser does: with the CSRF token of the page the form is on."""
        _, html = self.get(path)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        body = urllib.parse.urlencode(dict(data, csrf_token=token)).encode()
        try:
            with self.opener.open(self.url + path, data=body, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def portal_env(**settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LECTERN_")}
    env.update({f"LECTERN_{name}": str(value) for name, value in settings.items()})
    return env
