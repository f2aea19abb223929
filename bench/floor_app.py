"""The floor for bench/cost.py: what gunicorn, Flask, requests and the machine cost with nothing of ours on top.

A one-field form, the same POST to Junction's invite endpoint with a pooled keep-alive session, a 303 and a
one-line result page. Nothing else: no session cookie, CSRF, database, logging, metrics or templates. Run
by bench/cost.py as `gunicorn bench.floor_app:app` with gunicorn.conf.py's worker class and threads.
Configured by FLOOR_JUNCTION_URL, FLOOR_ORG_ID, FLOOR_KEY and WEB_THREADS.
"""

import html
import os
from urllib.parse import quote

import requests
from flask import Flask, redirect, request
from requests.adapters import HTTPAdapter

app = Flask(__name__)

_invite_url = f"{os.environ['FLOOR_JUNCTION_URL']}/v1/org/{os.environ['FLOOR_ORG_ID']}/invite"
_session = requests.Session()
_session.headers["X-Management-Key"] = os.environ["FLOOR_KEY"]
_session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=int(os.environ.get("WEB_THREADS", "8"))))

FORM = """<!doctype html><title>Invite</title>
<form method="post" action="/"><label for="email">Email</label> <input type="email" id="email" name="email">
<button>Send invitation</button></form>"""


@app.get("/")
def form():
    return FORM


@app.post("/")
def send():
    email = request.form.get("email", "")
    body = {"email": email, "role": "no_role", "team_role_bindings": None}
    answer = _session.post(_invite_url, json=body, timeout=10)
    status = answer.json().get("status") if answer.status_code == 200 else f"HTTP {answer.status_code}"
    return redirect(f"/sent?email={quote(email)}&status={quote(status)}", code=303)


@app.get("/sent")
def sent():
    email, status = request.args.get("email", ""), request.args.get("status", "")
    if status == "invite_created":
        return f"<!doctype html><title>Sent</title><h1>Invitation sent to {html.escape(email)}</h1>"
    return f"<!doctype html><title>Not sent</title><h1>Not sent: {html.escape(status)}</h1>"
