"""The WSGI app the estimate benchmark serves: Lectern, with a bare Flask "hello" under /bare,
so both run in the same gunicorn workers and are measured in the same run."""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import create_app

bare = Flask("bare")


@bare.post("/estimate")
def bare_estimate():
    return "<section>hello</section>"


lectern = create_app()
app = DispatcherMiddleware(lectern, {"/bare": bare})
