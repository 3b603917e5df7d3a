"""The baseline: a bare Flask "hello", served with the same gunicorn settings as the portal."""

from flask import Flask

app = Flask("bare")


@app.route("/", methods=["GET", "POST"])
def hello():
    return "<p>hello</p>"
