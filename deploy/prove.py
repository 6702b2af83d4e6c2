#!/usr/bin/env python3
"""Prove the production layout of docs/DEPLOY.md on one machine, without touching its services.

nginx terminating TLS (a self-signed certificate made here) in front of two gunicorn instances,
three workers, PostgreSQL (a database of its own), and Twilio replaced by the local stand-in.
Everything runs as ordinary processes on free 127.0.0.1 ports under one scratch folder; nothing
is installed as a service, and everything is stopped (and the database dropped) at the end.

The smoke run goes through the proxy as a clinic would: sign in on the page (the cookie must be
Secure), book through the API, see the booking text reach "Twilio", have a signed webhook
accepted (its signature checked against PUBLIC_BASE_URL, the proxy's https URL) and a forged one
refused, see the client's own address through TRUSTED_PROXIES (not one it claims), and find no
calendar-feed token in the nginx or gunicorn access logs.

    python3 deploy/prove.py [--keep]     # exit 0 when every check passed
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fresh_db import PG_SERVER, fresh_postgres  # noqa: E402
from tests.support.twilio_standin import TwilioStandin  # noqa: E402

DB_NAME = "scheduler_deploy_proof"
CLIENT_ADDRESS = "127.0.0.5"  # the smoke client's own loopback address, as nginx sees it
SPOOFED = "203.0.113.9"  # what the client claims in X-Forwarded-For; must never be believed
FEED_SECRET = "feedSECRET" + secrets.token_hex(8)
NGINX_CONF = """
worker_processes 2;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {run}/tmp/body;
    proxy_temp_path {run}/tmp/proxy;
    fastcgi_temp_path {run}/tmp/fastcgi;
    uwsgi_temp_path {run}/tmp/uwsgi;
    scgi_temp_path {run}/tmp/scgi;
    # A calendar feed's URL is its secret: the access log keeps /feeds/**** instead.
    map $request_uri $logged_uri {{
        ~^/feeds/[^/?]*(?<rest>.*)$ /feeds/****$rest;
        default $request_uri;
    }}
    log_format masked '$remote_addr [$time_local] "$request_method $logged_uri" $status $body_bytes_sent';
    access_log {run}/nginx-access.log masked;
    upstream scheduler {{
{upstreams}
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {run}/cert.pem;
        ssl_certificate_key {run}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 2m;
        location / {{
            proxy_pass http://scheduler;
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host:$server_port;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_nginx() -> str:
    """nginx's path, installing Debian's package if it is missing."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    print("installing nginx (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    # The package starts the machine's own nginx on port 80; this proof leaves that alone.
    return shutil.which("nginx") or "/usr/sbin/nginx"


def make_certificate(run: Path) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(run / "key.pem"), "-out", str(run / "cert.pem"), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)


class Stack:
    """The processes of the layout; stopped together."""

    def __init__(self, run: Path, root: Path = ROOT):
        self.run, self.root, self.procs = run, root, []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = (self.run / f"{name}.log").open("w")
        proc = subprocess.Popen(argv, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited early; its log:\n{(self.run / f'{name}.log').read_text()[-3000:]}")


class Client:
    """HTTPS through the proxy from CLIENT_ADDRESS, trusting the certificate made here, with cookies."""

    def __init__(self, port: int, cafile: Path):
        self.port, self.cookies = port, {}
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.set_cookie_headers: list[str] = []

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.context,
                                           source_address=(CLIENT_ADDRESS, 0), timeout=20)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        for header in answer.headers.get_all("Set-Cookie") or []:
            self.set_cookie_headers.append(header)
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        conn.close()
        return answer.status, dict(answer.headers), data

    def json(self, method: str, path: str, token: str, payload: dict | None = None):
        body = json.dumps(payload).encode() if payload is not None else None
        status, _, data = self.request(method, path, body, {
            "Authorization": f"Bearer {token}", "Content-Type": "application/json", "X-Forwarded-For": SPOOFED})
        return status, (json.loads(data) if data else None)


def wait_for(what: str, check, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise SystemExit(f"timed out waiting for {what}")


def flask(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def sign_webhook(url: str, params: dict, auth_token: str) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(auth_token).compute_signature(url, params)


def smoke(client: Client, public: str, admin_email: str, password: str, token: str, standin: TwilioStandin,
          auth_token: str, run: Path) -> list[str]:
    """The checks, in the order a clinic meets them; returns what passed."""
    passed = []
    # 1. Sign in on the page: the session cookie is Secure behind the TLS proxy.
    status, _, page = client.request("GET", "/login")
    assert status == 200, f"GET /login: {status}"
    csrf = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()
    form = urlencode({"csrf_token": csrf, "email": admin_email, "password": password}).encode()
    status, headers, _ = client.request("POST", "/login", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Referer": f"{public}/login"})
    assert status == 302, f"sign-in answered {status}"
    session_cookies = [h for h in client.set_cookie_headers if h.lower().startswith("session=")]
    assert session_cookies and all("secure" in h.lower() for h in session_cookies), session_cookies
    status, _, page = client.request("GET", "/")
    assert status == 200 and b"Sign out" in page, f"signed-in page: {status}"
    passed.append("signed in through the proxy; the session cookie is Secure")

    # 2. Book through the API: the booking text reaches Twilio (the stand-in) from a worker.
    status, therapist = client.json("POST", "/api/v1/therapists", token,
                                    {"name": "Dana Reyes", "timezone": "America/New_York"})
    assert status == 201, therapist
    rules = [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]
    status, body = client.json("PUT", f"/api/v1/therapists/{therapist['id']}/availability", token, {"rules": rules})
    assert status == 200, body
    phone = "+12015550142"
    status, patient = client.json("POST", "/api/v1/patients", token, {
        "name": "Sam Patient", "phone": phone, "timezone": daytime_zone(), "sms_consent": True})
    assert status == 201, patient
    day = date.today() + timedelta(days=3)
    status, appointment = client.json("POST", "/api/v1/appointments", token, {
        "therapist_id": therapist["id"], "patient_id": patient["id"], "start": f"{day}T10:00",
        "duration_minutes": 50})
    assert status == 201, appointment
    passed.append("booked through the proxy (201)")
    wait_for("the booking text at Twilio", lambda: any(m.get("to") == phone for m in standin.accepted))
    passed.append("a worker sent the booking text to Twilio")

    # 3. Webhooks: signed against PUBLIC_BASE_URL (the proxy's https URL) accepted; forged refused.
    params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": standin.account_sid, "From": phone,
              "To": "+15005550006", "Body": "C"}
    url = f"{public}/sms/inbound"
    form = urlencode(params).encode()
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, _ = client.request("POST", "/sms/inbound", form, {**plain, "X-Twilio-Signature": "forged"})
    assert status == 403, f"forged webhook: {status}"
    status, _, reply = client.request("POST", "/sms/inbound", form, {
        **plain, "X-Twilio-Signature": sign_webhook(url, params, auth_token)})
    assert status == 200 and b"<Response" in reply, f"signed webhook: {status} {reply[:200]!r}"
    passed.append("a webhook signed for PUBLIC_BASE_URL was accepted; a forged one got 403")

    # 4. The client's address through TRUSTED_PROXIES: its real one, never the one it claims.
    status, _ = client.json("GET", "/api/v1/patients/1", "not-a-real-token")
    assert status == 401, status
    logs = "".join((run / f"web{n}.log").read_text() for n in (1, 2))
    assert f"from {CLIENT_ADDRESS}" in logs, "the app did not see the client's address"
    assert f"from {SPOOFED}" not in logs, "the app believed a spoofed X-Forwarded-For"
    passed.append(f"the app saw the client as {CLIENT_ADDRESS} through the proxy, not the claimed {SPOOFED}")

    # 5. A calendar feed's token never reaches an access log.
    client.request("GET", f"/feeds/{FEED_SECRET}.ics")
    time.sleep(0.5)  # nginx writes its access log line as the request ends
    access = (run / "nginx-access.log").read_text() + "".join(
        (run / f"web{n}-access.log").read_text() for n in (1, 2))
    assert "/feeds/****" in access, "the feed request is not in the access logs"
    assert FEED_SECRET not in access, "a feed token was written to an access log"
    passed.append("no feed token in the nginx or gunicorn access logs (/feeds/**** instead)")
    return passed


def daytime_zone() -> str:
    """A zone where it is now between 09:00 and 19:00, so the booking text is not held by quiet hours."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zones = ("America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Auckland",
             "America/Los_Angeles", "Pacific/Honolulu")
    return next(z for z in zones if 9 <= datetime.now(ZoneInfo(z)).hour < 19)


def bring_up(run: Path, env: dict, *, web_workers: int = 2, workers: int = 3,
             nginx_port: int | None = None, root: Path = ROOT) -> tuple[Stack, int, list[int]]:
    """Two gunicorn instances (`web_workers` processes each), `workers` workers and nginx in front,
    on free ports under `run` (which holds cert.pem and key.pem), running the code in `root`;
    returns once /healthz answers through the proxy. Also what bench/stack.py measures."""
    stack = Stack(run, root)
    nginx_port, web_ports = nginx_port or free_port(), [free_port(), free_port()]
    try:
        for n, port in enumerate(web_ports, 1):
            stack.start(f"web{n}", [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy/gunicorn.conf.py"),
                                    "-w", str(web_workers), "-b", f"127.0.0.1:{port}", "--no-control-socket",
                                    "--access-logfile", str(run / f"web{n}-access.log"), "wsgi:app"], env)
        for port in web_ports:  # up before nginx, which would otherwise mark them down for a while
            wait_for(f"gunicorn on {port}", lambda port=port: _answers(port, stack))
        for n in range(1, workers + 1):
            stack.start(f"worker{n}", [sys.executable, "-m", "flask", "--app", "wsgi", "worker"], env)
        user = f"user {os.environ.get('USER') or 'root'};" if os.geteuid() == 0 else ""
        (run / "nginx.conf").write_text(NGINX_CONF.format(
            run=run, user=user, port=nginx_port,
            upstreams="\n".join(f"        server 127.0.0.1:{p};" for p in web_ports)))
        stack.start("nginx", [need_nginx(), "-p", str(run), "-c", str(run / "nginx.conf"), "-g", "daemon off;"], env)
        client = Client(nginx_port, run / "cert.pem")
        wait_for("the stack", lambda: _healthy(client, stack))
    except BaseException:
        stack.stop()
        raise
    return stack, nginx_port, web_ports


def scratch() -> Path:
    """A scratch folder for the stack's config, certificate and logs (nginx's workers read it)."""
    run = Path(tempfile.mkdtemp(prefix="scheduler-deploy-"))
    (run / "tmp").mkdir()
    os.chmod(run, 0o755)
    make_certificate(run)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the scratch folder (logs) behind")
    args = parser.parse_args()
    need_nginx()
    run = scratch()
    database = fresh_postgres(DB_NAME)
    standin = TwilioStandin(auth_token=secrets.token_hex(16)).start()
    stack = None
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": secrets.token_hex(32),
           "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": standin.account_sid,
           "TWILIO_AUTH_TOKEN": standin.auth_token, "TWILIO_FROM_NUMBER": "+15005550006",
           "TWILIO_API_BASE_URL": standin.base_url, "TRUSTED_PROXIES": "1",
           "DISPATCH_INTERVAL_SECONDS": "1", "PYTHONUNBUFFERED": "1"}
    try:
        # The proxy's port is known before anything starts: PUBLIC_BASE_URL names it.
        nginx_port = free_port()
        public = f"https://localhost:{nginx_port}"
        env["PUBLIC_BASE_URL"] = public
        flask(env, "db", "upgrade")
        password = secrets.token_urlsafe(12)
        flask(env, "users", "create", "--email", "admin@deploy.test", "--role", "admin", "--password", password)
        token = flask(env, "users", "token", "--email", "admin@deploy.test").strip().splitlines()[-1]
        stack, _, web_ports = bring_up(run, env, nginx_port=nginx_port)
        client = Client(nginx_port, run / "cert.pem")
        print(f"stack up: nginx https://localhost:{nginx_port} -> gunicorn {web_ports}, 3 workers, "
              f"PostgreSQL {DB_NAME}; logs in {run}")
        for line in smoke(client, public, "admin@deploy.test", password, token, standin, standin.auth_token, run):
            print(f"ok: {line}")
        print("deploy proof passed")
        return 0
    except (AssertionError, SystemExit) as exc:
        print(f"deploy proof FAILED: {exc}", file=sys.stderr)
        for name in ("nginx-error", "web1", "worker1"):
            path = run / f"{name}.log"
            if path.exists():
                print(f"--- {name}.log (end)\n{path.read_text()[-1500:]}", file=sys.stderr)
        return 1
    finally:
        if stack is not None:
            stack.stop()
        standin.stop()
        _drop_database()
        if not args.keep:
            shutil.rmtree(run, ignore_errors=True)


def _healthy(client: Client, stack: Stack) -> bool:
    stack.check_alive()
    try:
        status, _, body = client.request("GET", "/healthz")
    except OSError:
        return False
    return status == 200 and json.loads(body) == {"database": "ok"}


def _answers(port: int, stack: Stack) -> bool:
    stack.check_alive()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def _drop_database() -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
