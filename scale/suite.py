#!/usr/bin/env python3
"""The scale-out suite: three release instances on a PostgreSQL cluster and a Redis of the suite's
own (so it can stop and start them), a loopback Web Push receiver that checks VAPID and decrypts,
and the checks of a deployment: exactly-once delivery, kill -9, shared limits, Redis and
PostgreSQL outages, SIGTERM under load, a hung push service. Prints what it measured and exits
non-zero when a check fails.

Usage: suite.py BINARY WORKDIR   (scale/run sets it up)
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from receiver import Receiver

BASE_PORT = int(os.environ.get("SCALE_BASE_PORT", "65100"))
PG_PORT, REDIS_PORT = BASE_PORT, BASE_PORT + 1
INSTANCE_PORTS = [BASE_PORT + 10, BASE_PORT + 11, BASE_PORT + 12]
# An API-only instance (no dispatcher): what it queues reaches the others only through a Redis
# wake-up (or their idle poll, 30 s), which makes wake-ups measurable.
API_ONLY_PORT = BASE_PORT + 13
FINE_PORT, HUNG_PORT = BASE_PORT + 20, BASE_PORT + 21
PG_VERSION = os.environ.get("SCALE_PG_VERSION") or sorted(os.listdir("/usr/lib/postgresql"), key=int)[-1]
PG_CLUSTER = os.environ.get("SCALE_PG_CLUSTER", f"scaleout{PG_PORT}")
KEY_PREFIX = "scale:"
LOGIN_LIMIT = 10
DUE = int(os.environ.get("SCALE_DUE", "2000"))
LEASE_SECONDS = 8

RESULTS: list[tuple[str, bool, str]] = []


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def record(name: str, ok: bool, measured: str) -> None:
    ok = bool(ok)
    RESULTS.append((name, ok, measured))
    log(f"{'PASS' if ok else 'FAIL'} {name}: {measured}")


# --- HTTP -------------------------------------------------------------------------------------


def call(port, method, path, body=None, token=None, timeout=30.0):
    """(status or None, parsed body or error text, seconds)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = raw.decode(errors="replace")
        return response.status, parsed, time.monotonic() - started
    except Exception as error:  # noqa: BLE001
        return None, f"{type(error).__name__}: {error}", time.monotonic() - started
    finally:
        conn.close()


def expect(result, wanted, what):
    status, body, _ = result
    if status != wanted:
        raise RuntimeError(f"{what} answered {status}, expected {wanted}: {body}")
    return body


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- dependencies -----------------------------------------------------------------------------


class Postgres:
    def __init__(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", PG_VERSION, PG_CLUSTER], capture_output=True)
        subprocess.run(
            ["pg_createcluster", PG_VERSION, PG_CLUSTER, "-p", str(PG_PORT), "--start-conf", "manual",
             "-o", "fsync=off", "-o", "max_connections=100",
             "--", "--auth=trust"],
            check=True, capture_output=True,
        )
        self.start()
        self.psql("CREATE DATABASE aftercare", database="postgres")

    def start(self) -> None:
        subprocess.run(["pg_ctlcluster", PG_VERSION, PG_CLUSTER, "start"], check=True)

    def stop(self) -> None:
        subprocess.run(["pg_ctlcluster", PG_VERSION, PG_CLUSTER, "stop", "-m", "fast"], check=True)

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", PG_VERSION, PG_CLUSTER], capture_output=True)

    def psql(self, sql: str, database: str = "aftercare") -> list[str]:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", database, "-XAtqc", sql],
            check=True, capture_output=True, text=True,
        )
        return [line for line in out.stdout.splitlines() if line]

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{PG_PORT}/aftercare?sslmode=disable"


class Redis:
    def __init__(self, work: str) -> None:
        self.dir = os.path.join(work, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def cli(self, *args: str) -> str:
        out = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), *args], capture_output=True, text=True)
        return out.stdout.strip()

    def subscribers(self) -> int:
        lines = self.cli("PUBSUB", "NUMSUB", f"{KEY_PREFIX}dispatcher:wake").splitlines()
        return int(lines[1]) if len(lines) > 1 and lines[1].strip().isdigit() else 0


class Instance:
    def __init__(self, binary: str, work: str, index: int, pg: Postgres, extra: dict | None = None) -> None:
        self.binary, self.work, self.index = binary, work, index
        self.port = INSTANCE_PORTS[index] if index < len(INSTANCE_PORTS) else API_ONLY_PORT
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": pg.url(),
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}",
            "AFTERCARE__SERVER__BIND": f"127.0.0.1:{self.port}",
            "AFTERCARE__REDIS__KEY_PREFIX": KEY_PREFIX,
            "AFTERCARE__RATE_LIMIT__LOGIN_FAILURES_PER_ACCOUNT": str(LOGIN_LIMIT),
            "AFTERCARE__RATE_LIMIT__LOGIN_FAILURES_PER_ADDRESS": "1000000",
            "AFTERCARE__RATE_LIMIT__REGISTRATIONS_PER_ADDRESS": "1000000",
            "AFTERCARE__AUTH__ARGON2_MEMORY_KIB": "4096",
            "AFTERCARE__AUTH__ARGON2_ITERATIONS": "1",
            "AFTERCARE__PUSH__ALLOW_LOOPBACK": "true",
            "AFTERCARE__PUSH__VAPID_SUBJECT": "mailto:scale-suite@example.org",
            "AFTERCARE__PUSH__VAPID_PRIVATE_KEY_FILE": os.path.join(work, "no-vapid-key-file"),
            "AFTERCARE__PUSH__CONNECT_TIMEOUT_MS": "1000",
            "AFTERCARE__PUSH__REQUEST_TIMEOUT_MS": "3000",
            "AFTERCARE__DISPATCHER__LEASE_SECONDS": str(LEASE_SECONDS),
            "AFTERCARE__DISPATCHER__SHUTDOWN_GRACE_SECONDS": "2",
            "AFTERCARE__LOG__LEVEL": "warn",
            "AFTERCARE__LOG__FORMAT": "text",
        })
        self.env.update(extra or {})
        self.env.pop("RUST_LOG", None)
        self.process = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        self.starts += 1
        logfile = open(os.path.join(self.work, f"instance{self.index}.log"), "ab")
        self.process = subprocess.Popen([self.binary, "serve"], env=self.env, cwd=self.work,
                                        stdout=logfile, stderr=subprocess.STDOUT)

    def wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"instance {self.index} exited with {self.process.returncode}")
            if call(self.port, "GET", "/readyz", timeout=2)[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"instance {self.index} not ready within {within} s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def sent_metric(self) -> int:
        status, body, _ = call(self.port, "GET", "/metrics", timeout=5)
        total = 0
        if status == 200 and isinstance(body, str):
            for line in body.splitlines():
                if "push_notifications_total" in line and not line.startswith("#") and 'result="sent"' in line:
                    total += int(float(line.rsplit(" ", 1)[1]))
        return total


# --- the fleet --------------------------------------------------------------------------------


class Fleet:
    def __init__(self, binary: str, work: str) -> None:
        self.work = work
        log(f"PostgreSQL {PG_VERSION} cluster {PG_CLUSTER} on {PG_PORT}, Redis on {REDIS_PORT}")
        self.pg = Postgres()
        self.redis = Redis(work)
        self.instances = [Instance(binary, work, i, self.pg) for i in range(3)]
        self.api_only = Instance(binary, work, 3, self.pg, {"AFTERCARE__DISPATCHER__ENABLED": "false"})
        for instance in [*self.instances, self.api_only]:
            instance.start()
        for instance in [*self.instances, self.api_only]:
            instance.wait_ready()
        log(f"instances on {INSTANCE_PORTS}")
        self.fine = Receiver(FINE_PORT)
        self.hung = Receiver(HUNG_PORT)
        self.run = secrets.token_hex(3)
        self.counter = 0

    def port(self, n: int) -> int:
        return INSTANCE_PORTS[n % 3]

    def account(self, role: str = "patient", via: int = 0) -> dict:
        self.counter += 1
        email = f"scale-{self.run}-{self.counter}@example.org"
        password = secrets.token_urlsafe(16)
        profile = {"role": role, "time_zone": "Europe/Lisbon"}
        if role == "therapist":
            profile["discipline"] = "physiotherapist"
        expect(call(self.port(via), "POST", "/v1/accounts",
                    {"email": email, "password": password, "display_name": "Scale", **profile}), 201, "registering")
        return {"email": email, "password": password, "token": self.sign_in(email, password, via)}

    def sign_in(self, email: str, password: str, via: int = 0) -> str:
        return expect(call(self.port(via), "POST", "/v1/auth/token", self.grant(email, password)), 200,
                      f"signing in {email}")["access_token"]

    @staticmethod
    def grant(email: str, password: str) -> dict:
        return {"grant_type": "password", "email": email, "password": password, "device_label": "scale"}

    def device(self, account: dict, receiver: Receiver, via: int = 0) -> str:
        sub_id, body = receiver.subscribe()
        status, answer, _ = call(self.port(via), "POST", "/v1/push/subscriptions", body, account["token"])
        if status not in (200, 201):
            raise RuntimeError(f"registering a device answered {status}: {answer}")
        return sub_id

    def notify(self, accounts: list[dict], count: int, threads: int = 8) -> dict[str, float]:
        """`count` test notifications, spread over the accounts and the instances: id -> when queued."""
        def one(n: int):
            status, body, _ = call(self.port(n), "POST", "/v1/notifications/test", None,
                                   accounts[n % len(accounts)]["token"])
            if status not in (200, 201, 202):
                raise RuntimeError(f"test notification answered {status}: {body}")
            return body["id"], time.time()
        with ThreadPoolExecutor(threads) as pool:
            return dict(pool.map(one, range(count)))

    def wake_latency(self, account: dict) -> float:
        """Seconds from queueing a test push on the API-only instance to its arrival."""
        status, body, _ = call(API_ONLY_PORT, "POST", "/v1/notifications/test", None, account["token"])
        if status not in (200, 201, 202):
            raise RuntimeError(f"test notification answered {status}: {body}")
        queued = time.time()
        arrived = wait_for(lambda: [a.at for a in self.fine.arrivals(set(account["subs"]))
                                    if a.notification == body["id"]], 40, 0.02)
        return (arrived[0] - queued) if arrived else float("inf")

    def stop(self) -> None:
        for instance in [*self.instances, self.api_only]:
            instance.stop()
        for receiver in (self.fine, self.hung):
            receiver.stop()
        self.redis.stop()
        self.pg.drop()


def wait_for(predicate, within: float, step: float = 0.1):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def deliveries(receiver: Receiver, subs: set[str], ids: set[str]):
    """Arrivals for the given notification ids, and any receiver-side errors."""
    arrivals = [a for a in receiver.arrivals(subs) if a.notification in ids or a.error]
    return [a for a in arrivals if not a.error], [a for a in arrivals if a.error]


# --- the checks -------------------------------------------------------------------------------


def check_exactly_once(fleet: Fleet, patients: list[dict], subs: set[str]) -> float:
    before = [i.sent_metric() for i in fleet.instances]
    started = time.time()
    queued = fleet.notify(patients, DUE)
    ids = set(queued)
    queued_in = time.time() - started

    def all_arrived():
        good, _ = deliveries(fleet.fine, subs, ids)
        return len({a.notification for a in good}) >= len(ids)
    wait_for(all_arrived, 120)
    time.sleep(2)  # anything sent twice would arrive in this time too
    good, bad = deliveries(fleet.fine, subs, ids)
    seen = [a.notification for a in good]
    last = max((a.at for a in good), default=time.time())
    elapsed = last - started
    per_instance = [after - b for after, b in zip((i.sent_metric() for i in fleet.instances), before)]
    duplicates = len(seen) - len(set(seen))
    missing = len(ids - set(seen))
    ok = missing == 0 and duplicates == 0 and not bad and all(n > 0 for n in per_instance)
    record("exactly once", ok,
           f"{len(ids)} queued in {queued_in:.1f} s via the API, {len(set(seen))} delivered in {elapsed:.1f} s "
           f"({len(set(seen)) / max(elapsed, 0.001):.0f}/s), missing {missing}, duplicates {duplicates}, "
           f"VAPID/decrypt failures {len(bad)}, sent per instance {per_instance}")
    return len(set(seen)) / max(elapsed, 0.001)


def check_kill9(fleet: Fleet, patients: list[dict], subs: set[str]) -> None:
    # Answers take half a second, so every dispatcher holds leases on sends under way when one dies.
    for sub in subs:
        fleet.fine.set_mode(sub, "slow", 0.5)
    victim = fleet.instances[0]
    queued = fleet.notify(patients, 600)
    ids = set(queued)
    time.sleep(1.5)
    victim.signal(signal.SIGKILL)
    victim.process.wait()
    killed_at = time.time()
    leased_at_kill = set(fleet.pg.psql("SELECT notification_id FROM push_deliveries WHERE state = 'leased'"))
    for sub in subs:
        fleet.fine.set_mode(sub, "ok")
    # Claimed before the kill and still leased well after the survivors' sends finished: the
    # dead instance's, waiting for their lease to run out.
    time.sleep(2.5)
    stranded = set(fleet.pg.psql(
        "SELECT notification_id FROM push_deliveries WHERE state = 'leased' "
        f"AND lease_until <= to_timestamp({killed_at}) + interval '{LEASE_SECONDS} seconds'"))

    def all_arrived():
        good, _ = deliveries(fleet.fine, subs, ids)
        return len({a.notification for a in good}) >= len(ids)
    wait_for(all_arrived, LEASE_SECONDS + 40)
    # Every arrived once may include the dead instance's sends that reached the receiver just
    # before the kill: wait for its leases to run out and their re-sends too.
    wait_for(lambda: fleet.pg.psql("SELECT count(*) FROM push_deliveries "
                                   "WHERE state IN ('leased', 'pending')")[0] == "0", LEASE_SECONDS + 40, 0.2)
    time.sleep(1)
    good, bad = deliveries(fleet.fine, subs, ids)
    by_id: dict[str, list] = {}
    for arrival in good:
        by_id.setdefault(arrival.notification, []).append(arrival)
    missing = len(ids - set(by_id))
    twice = {n: a for n, a in by_id.items() if len(a) > 1}
    thrice = [n for n, a in by_id.items() if len(a) > 2]
    outside = [n for n in twice if n not in leased_at_kill]
    topics_differ = [n for n, a in twice.items() if len({x.topic for x in a}) != 1 or a[0].topic is None]
    rescued_last = max((a.at for a in good if a.notification in stranded), default=killed_at)
    ok = stranded and missing == 0 and not outside and not thrice and not topics_differ and not bad
    record("kill -9 with leases", ok,
           f"600 queued, instance 0 killed holding {len(stranded)} leases ({len(leased_at_kill)} leased in all): "
           f"missing {missing}, delivered twice {len(twice)} (all leased at the kill: {not outside}, "
           f"same Topic: {not topics_differ}), the dead instance's delivered {rescued_last - killed_at:.1f} s "
           f"after the kill (lease {LEASE_SECONDS} s)")
    victim.start()
    victim.wait_ready()


def wrong_passwords(fleet: Fleet, account: dict, attempts: int, via=None) -> list:
    results = []
    for n in range(attempts):
        port = fleet.port(n if via is None else via)
        results.append(call(port, "POST", "/v1/auth/token", fleet.grant(account["email"], "wrong-" + str(n))))
    return results


def check_shared_limit(fleet: Fleet) -> None:
    account = fleet.account()
    statuses = [r[0] for r in wrong_passwords(fleet, account, LOGIN_LIMIT + 5)]
    refused = statuses.count(401)
    ok = refused == LOGIN_LIMIT and statuses[LOGIN_LIMIT:] == [429] * 5
    record("login limit shared", ok,
           f"{LOGIN_LIMIT + 5} wrong passwords round-robin over 3 instances: {refused} × 401 then "
           f"{statuses[LOGIN_LIMIT:]} (limit {LOGIN_LIMIT} per account)")


class Traffic:
    """Background requests until stopped: (kind, status, seconds, when)."""

    def __init__(self, fleet: Fleet, target, threads: int = 4) -> None:
        self.results: list[tuple] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.workers = [threading.Thread(target=self._loop, args=(fleet, target, n), daemon=True)
                        for n in range(threads)]
        for worker in self.workers:
            worker.start()

    def _loop(self, fleet, target, n) -> None:
        i = n
        while not self.stopping.is_set():
            kind, status, body, seconds, extra = target(fleet, i)
            with self.lock:
                self.results.append((kind, status, seconds, time.time(), extra, body))
            i += len(self.workers)

    def stop(self) -> list[tuple]:
        self.stopping.set()
        for worker in self.workers:
            worker.join(60)
        return self.results


def check_redis_outage(fleet: Fleet, signer: dict, reader: dict) -> None:
    pids = [i.pid for i in fleet.instances]
    wake_before = fleet.wake_latency(reader)

    def target(fleet, i):
        if i % 2 == 0:
            status, body, seconds = call(fleet.port(i), "POST", "/v1/auth/token",
                                         fleet.grant(signer["email"], signer["password"]))
            return "sign-in", status, body, seconds, None
        status, body, seconds = call(fleet.port(i), "GET", "/v1/journal/entries", None, reader["token"])
        return "read", status, body, seconds, None

    traffic = Traffic(fleet, target)
    time.sleep(1)
    fleet.redis.stop()
    stopped_at = time.time()
    time.sleep(1)
    # Round-robin over the three instances: the limit holds for the fleet, not once per instance.
    limited = fleet.account()
    fleet_wide = [r[0] for r in wrong_passwords(fleet, limited, LOGIN_LIMIT + 5)]
    ready = [call(i.port, "GET", "/readyz", timeout=5) for i in fleet.instances]
    time.sleep(max(0.0, 8 - (time.time() - stopped_at)))
    during = [r for r in traffic.stop() if r[3] >= stopped_at]
    errors = [r for r in during if r[1] is None or r[1] >= 500]
    sign_ins = [r[2] for r in during if r[0] == "sign-in"]
    holds = fleet_wide.count(401) == LOGIN_LIMIT and fleet_wide[LOGIN_LIMIT:] == [429] * 5
    ready_ok = all(r[0] == 200 and r[2] < 1 for r in ready)
    ok = not errors and sign_ins and max(sign_ins) < 1 and holds and ready_ok
    record("Redis stopped", ok,
           f"{len(during)} requests in 8 s: {len(errors)} 5xx/failed; sign-ins {len(sign_ins)}, p50 "
           f"{percentile(sign_ins, 50) * 1000:.0f} ms, max {max(sign_ins, default=0) * 1000:.0f} ms; "
           f"{LOGIN_LIMIT + 5} wrong passwords round-robin over 3 instances: {fleet_wide.count(401)} × 401 then "
           f"{fleet_wide[LOGIN_LIMIT:]} (limit {LOGIN_LIMIT} per account, counted in the database); /readyz "
           f"{[r[0] for r in ready]} in ≤{max(r[2] for r in ready) * 1000:.0f} ms")

    fleet.redis.start()
    restarted = time.time()
    resubscribed = wait_for(lambda: fleet.redis.subscribers() >= 3 and time.time(), 30)
    resub_s = (resubscribed - restarted) if resubscribed else float("inf")
    # Shared limits back: a wrong password on any instance lands in Redis again.
    probe = fleet.account()

    def shared_again():
        call(fleet.port(0), "POST", "/v1/auth/token", fleet.grant(probe["email"], "wrong"))
        return bool(fleet.redis.cli("--scan", "--pattern", f"{KEY_PREFIX}*")) and time.time()
    shared_at = wait_for(shared_again, 30, 0.25)
    shared_s = (shared_at - restarted) if shared_at else float("inf")
    again = fleet.account()
    statuses = [r[0] for r in wrong_passwords(fleet, again, LOGIN_LIMIT + 3)]
    limit_ok = statuses.count(401) == LOGIN_LIMIT and statuses[-1] == 429
    # Wake-ups across instances again: queued on the API-only instance, sent by another.
    wake_s = fleet.wake_latency(reader)
    wake_next = fleet.wake_latency(reader)
    same = [i.pid for i in fleet.instances] == pids and all(i.alive() for i in fleet.instances)
    # Issue bound: wake-ups cross instances again within a second of Redis returning, the
    # first one from an instance that was idle through the outage included.
    ok = resub_s < 5 and shared_s < 5 and limit_ok and wake_s <= 1 and wake_next <= 1 and same
    record("Redis restarted", ok,
           f"all 3 dispatchers subscribed again {resub_s:.1f} s after the restart, shared counters "
           f"{shared_s:.1f} s, shared limit {statuses.count(401)} × 401 then 429 over 3 instances, "
           f"the first push queued on the API-only instance after it arrived {wake_s * 1000:.0f} ms later, the "
           f"next {wake_next * 1000:.0f} ms (before the outage "
           f"{wake_before * 1000:.0f} ms; the dispatchers' idle poll is 30 s), no instance restarted: {same}")


def journal_entry() -> dict:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return {"recorded_at": (now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"), "pain": 4,
            "regions": [{"region": "lower_back", "pain": 4, "qualities": ["aching"]}], "notes": "scale"}


def check_postgres_outage(fleet: Fleet, writers: list[dict]) -> None:
    def target(fleet, i):
        entry_id = str(uuid.uuid4())
        status, body, seconds = call(fleet.port(i), "PUT", f"/v1/journal/entries/{entry_id}", journal_entry(),
                                     writers[i % len(writers)]["token"], timeout=30)
        return "write", status, body, seconds, entry_id

    traffic = Traffic(fleet, target)
    time.sleep(2)
    fleet.pg.stop()
    stopped_at = time.time()
    ready = []
    for _ in range(3):
        time.sleep(1)
        ready += [call(i.port, "GET", "/readyz", timeout=10) for i in fleet.instances]
    time.sleep(max(0.0, 10 - (time.time() - stopped_at)))
    # Requests finishing from here on may meet a PostgreSQL already accepting connections.
    started_at = time.time()
    fleet.pg.start()
    back = wait_for(lambda: any(r[1] in (200, 201) and r[3] > started_at for r in list(traffic.results))
                    and time.time(), 30)
    time.sleep(2)
    results = traffic.stop()
    during = [r for r in results if stopped_at <= r[3] - r[2] and r[3] <= started_at]
    # Nothing can be acknowledged while the database is down.
    acknowledged_down = [r for r in during if r[1] in (200, 201)]
    # Every 503 of the outage, the first ones included (sent before the stop and still waiting
    # when it came): how long each waited once the database was gone.
    unavailable = [r for r in results if r[1] == 503 and r[3] >= stopped_at and r[3] - r[2] <= started_at]
    waited = {id(r): r[3] - max(r[3] - r[2], stopped_at) for r in unavailable}
    slow = [r for r in unavailable if waited[id(r)] >= 1]
    first = min(unavailable, key=lambda r: r[3] - r[2], default=None)
    others = [r for r in results if r[1] not in (200, 201, 503)]
    acknowledged = {r[4] for r in results if r[1] in (200, 201)}
    present = set(fleet.pg.psql("SELECT id FROM journal_entries"))
    lost = acknowledged - present
    latencies = list(waited.values())
    ok = (unavailable and not slow and not others and not lost and back and not acknowledged_down
          and all(r[0] == 503 and r[2] < 1 for r in ready))
    record("PostgreSQL stopped 10 s", ok,
           f"{len(during)} writes during the outage: {len(unavailable)} × 503, {len(acknowledged_down)} × 2xx, p50 "
           f"{percentile(latencies, 50) * 1000:.0f} ms, max {max(latencies, default=0) * 1000:.0f} ms "
           f"({len(slow)} ≥ 1 s), the first {waited[id(first)] * 1000 if first else float('inf'):.0f} ms after "
           f"the stop; other failures {len(others)}"
           f"{' ' + str(others[0][1]) + ' ' + str(others[0][5])[:120] if others else ''}; /readyz "
           f"{sorted({r[0] for r in ready}, key=str)} in ≤{max(r[2] for r in ready) * 1000:.0f} ms; writes again "
           f"{(back - started_at) if back else float('inf'):.1f} s after the restart; {len(acknowledged)} "
           f"acknowledged, {len(lost)} missing")


def check_hung_origin(fleet: Fleet, patients: list[dict], subs: set[str]) -> None:
    count = 100
    baseline = fleet.notify(patients, count)
    wait_for(lambda: len(deliveries(fleet.fine, subs, set(baseline))[0]) >= count, 30)
    base = [a.at - baseline[a.notification] for a in deliveries(fleet.fine, subs, set(baseline))[0]]

    stuck = fleet.account()
    stuck_sub = fleet.device(stuck, fleet.hung)
    fleet.hung.set_mode(stuck_sub, "hang")
    fleet.notify([stuck], 200)
    started = time.time()
    during = fleet.notify(patients, count)
    wait_for(lambda: len(deliveries(fleet.fine, subs, set(during))[0]) >= count, 60)
    arrived = deliveries(fleet.fine, subs, set(during))[0]
    lat = [a.at - during[a.notification] for a in arrived]
    hung_requests = len(fleet.hung.arrivals({stuck_sub}))
    p95_base, p95 = percentile(base, 95), percentile(lat, 95)
    ok = len({a.notification for a in arrived}) == count and p95 <= max(1.0, 3 * p95_base)
    record("one hung origin", ok,
           f"200 due to a push service that never answers, {count} to another: those {count} arrived, p95 "
           f"{p95 * 1000:.0f} ms after queueing (without the hung one {p95_base * 1000:.0f} ms), all within "
           f"{(max(a.at for a in arrived) - started) if arrived else float('inf'):.1f} s; the hung service saw "
           f"{hung_requests} requests")


def check_sigterm(fleet: Fleet, readers: list[dict]) -> None:
    victim = fleet.instances[2]
    results: list[tuple] = []
    lock = threading.Lock()
    stop = threading.Event()
    term_at = [float("inf")]

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", victim.port, timeout=30)
        token = readers[n % len(readers)]["token"]
        while not stop.is_set():
            try:
                conn.connect() if conn.sock is None else None
            except ConnectionRefusedError:
                with lock:
                    results.append(("refused", None, time.time()))
                return
            except OSError as error:
                with lock:
                    results.append(("connect-error", str(error), time.time()))
                return
            sent = time.time()
            try:
                if n % 2:
                    conn.request("PUT", f"/v1/journal/entries/{uuid.uuid4()}", body=json.dumps(journal_entry()),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                else:
                    conn.request("GET", "/v1/journal/entries", headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                response.read()
                with lock:
                    results.append(("answered", response.status, sent))
                if response.will_close:
                    conn.close()
            except Exception as error:  # noqa: BLE001
                with lock:
                    results.append(("failed", f"{type(error).__name__}: {error}", sent))
                conn.close()
                return

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    term_at[0] = time.time()
    victim.signal(signal.SIGTERM)
    try:
        code = victim.process.wait(40)
    except subprocess.TimeoutExpired:
        code = "still running"
    exited = time.time() - term_at[0]
    stop.set()
    for thread in threads:
        thread.join(30)
    answered = [r for r in results if r[0] == "answered"]
    after = [r for r in answered if r[2] >= term_at[0]]
    failed = [r for r in results if r[0] in ("failed", "connect-error")]
    server_errors = [r for r in answered if r[1] >= 500]
    ok = not failed and not server_errors and code == 0
    record("SIGTERM under load", ok,
           f"8 kept-alive clients, {len(answered)} answered ({len(after)} sent after SIGTERM), "
           f"{len(server_errors)} 5xx, {len(failed)} failed{' (' + str(failed[0][1]) + ')' if failed else ''}, "
           f"then refused; exited {code} after {exited:.1f} s")
    victim.start()
    victim.wait_ready()


def main() -> int:
    binary, work = sys.argv[1], sys.argv[2]
    started = time.time()
    fleet = None
    try:
        fleet = Fleet(binary, work)
        patients = [fleet.account(via=n) for n in range(20)]
        subs = set()
        for n, patient in enumerate(patients):
            patient["subs"] = [fleet.device(patient, fleet.fine, via=n)]
            subs.update(patient["subs"])
        log(f"20 patients with a device each on {fleet.fine.origin}; {DUE} notifications next")
        checks = [
            ("exactly once", lambda: check_exactly_once(fleet, patients, subs)),
            ("kill -9 with leases", lambda: check_kill9(fleet, patients, subs)),
            ("login limit shared", lambda: check_shared_limit(fleet)),
            ("Redis stopped", lambda: check_redis_outage(fleet, patients[0], patients[1])),
            ("PostgreSQL stopped 10 s", lambda: check_postgres_outage(fleet, patients[:4])),
            ("one hung origin", lambda: check_hung_origin(fleet, patients, subs)),
            ("SIGTERM under load", lambda: check_sigterm(fleet, patients[:4])),
        ]
        only = set(filter(None, os.environ.get("SCALE_ONLY", "").split(",")))
        for name, check in checks:
            if only and name not in only:
                continue
            log(f"--- {name}")
            try:
                check()
            except Exception as error:  # noqa: BLE001
                traceback.print_exc()
                record(name, False, f"raised {type(error).__name__}: {error}")
                if fleet.redis.process.poll() is not None:
                    fleet.redis.start()
                for instance in fleet.instances:
                    if not instance.alive():
                        instance.start()
                        instance.wait_ready()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        RESULTS.append(("setup", False, "the fleet did not come up"))
    finally:
        if fleet is not None:
            fleet.stop()
    elapsed = time.time() - started
    width = max(len(name) for name, _, _ in RESULTS)
    print()
    print(f"{'check':<{width}}  result  measured")
    for name, ok, measured in RESULTS:
        print(f"{name:<{width}}  {'pass' if ok else 'FAIL'}    {measured}")
    passed = sum(ok for _, ok, _ in RESULTS)
    print(f"\nscale: all checks done in {elapsed:.0f} s")
    print(f"scale: {passed} passed, {len(RESULTS) - passed} failed")
    return 0 if RESULTS and all(ok for _, ok, _ in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
