"""End-to-end tests of the purchase, over HTTP, in either mode.

Usage: seatflow_e2e.py <seatflow binary> embedded|distributed [unittest arguments]

embedded: each test class starts its own `seatflow up` (a fresh data folder,
a free port) with the settings its scenario needs, through the same
environment variables a user would set. The trace test also needs
SEATFLOW_TEST_JAEGER_OTLP_URL and SEATFLOW_TEST_JAEGER_QUERY_URL
(scripts/test.sh starts Jaeger).

distributed: the same tests run against the cluster of scripts/cluster.sh
whose folder SEATFLOW_TEST_CLUSTER_DIR names (two replicas of each service
behind nginx, on PostgreSQL and Kafka), one test class at a time. A class
that needs other settings restarts the services with them, and restarts
them as they were when it is done. The cluster-only classes kill replicas
and stop Kafka.
"""

import concurrent.futures
import datetime
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

BINARY = None
MODE = "embedded"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))
from free_port import free_port  # noqa: E402  (found through the path above)
ADMIN_TOKEN = "e2e-admin-token"
SERVICE_TOKEN = "e2e-service-token"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
SLOW_CARD = "4000 0000 0000 0077"  # answers after payment.slow_card_delay (30 s)
TERMINAL = {"COMPLETED", "CANCELLED", "REFUNDED"}


class Server:
    """A `seatflow up` process on a data folder that outlives restarts."""

    def __init__(self, **settings):
        self.port = free_port()
        self.data = tempfile.mkdtemp(prefix="seatflow-e2e-")
        self.env = dict(os.environ)
        self.env.update({
            "SEATFLOW_HTTP_PORT": str(self.port),
            "SEATFLOW_AUTH_ADMIN_TOKEN": ADMIN_TOKEN,
            "SEATFLOW_AUTH_SERVICE_TOKEN": SERVICE_TOKEN,
            "SEATFLOW_LOG_LEVEL": "warn",
            "SEATFLOW_HTTP_ACCESS_LOG": "false",
        })
        for key, value in settings.items():
            self.env[key] = str(value)
        self.admin_token = ADMIN_TOKEN
        self.process = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.process = subprocess.Popen(
            [BINARY, "up", "--data-dir", os.path.join(self.data, "data")],
            env=self.env, stdout=subprocess.PIPE, stderr=self.log)
        line = self.process.stdout.readline().decode()
        if "is running" not in line:
            raise RuntimeError("seatflow up did not start: " + line + self.server_log())
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def server_log(self):
        with open(os.path.join(self.data, "server.log"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process.stdout.close()
        self.log.close()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.log.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    # ---- HTTP ---------------------------------------------------------------

    def service_token(self):
        return SERVICE_TOKEN

    def internal_request(self, method, path, token=None, body=None, headers=None):
        """A service-to-service route (not public behind the gateway)."""
        return self.request(method, path, body=body, token=token, headers=headers)

    def request(self, method, path, body=None, token=None, headers=None, port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=30)
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
            body = json.dumps(body)
        if token:
            h["Authorization"] = "Bearer " + token
        conn.request(method, path, body=body, headers=h)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        content = json.loads(data) if data else None
        return response.status, content

    def session(self):
        status, body = self.request("POST", "/api/session")
        assert status == 201, body
        return body["token"]

    def demo_event(self):
        status, body = self.request("GET", "/api/events")
        assert status == 200, body
        return body["events"][0]["id"]

    def post_event(self, sections, starts_at="2030-01-01T20:00:00Z", tiers=None, **fields):
        """(status, body) of the admin API's creation of an event; `tiers`
        defaults to one, std at 50.00; `fields` go into the body as well."""
        return self.request("POST", "/api/admin/events", token=self.admin_token, body={
            "name": "E2E", "venue": "Test Hall", "starts_at": starts_at,
            "currency": "EUR", "tiers": tiers or [{"name": "std", "price_minor": 5000}],
            "sections": sections, **fields})

    def create_event(self, sections, starts_at="2030-01-01T20:00:00Z"):
        status, body = self.post_event(sections, starts_at)
        assert status == 201, body
        return body["id"]

    def seat_states(self, event_id):
        """{seat id: state} from the compact seat map."""
        status, body = self.request("GET", f"/api/events/{event_id}/seats")
        assert status == 200, body
        letters = {"A": "AVAILABLE", "H": "HELD", "S": "SOLD"}
        states = {}
        for section in body["sections"]:
            for row in section["rows"]:
                for i in range(row["count"]):
                    seat = f'{section["name"]}-{row["label"]}-{row["first"] + i}'
                    states[seat] = letters[body["states"][row["pos"] + i]]
        return states

    def wait_seat_states(self, event_id, seats, state, timeout=10):
        """The seat map once it shows every one of `seats` in `state`, or at the timeout.

        The map follows the database through the live stream of changes, a
        moment behind: right after a hold it may still show the seats free."""
        deadline = time.time() + timeout
        while True:
            states = self.seat_states(event_id)
            if all(states[seat] == state for seat in seats) or time.time() > deadline:
                return states
            time.sleep(0.05)

    def hold(self, token, event_id, seats):
        return self.request("POST", f"/api/events/{event_id}/holds", token=token,
                            body={"seats": seats})

    def order(self, token, hold_id, card, key):
        return self.request("POST", "/api/orders", token=token,
                            body={"hold_id": hold_id, "card_number": card},
                            headers={"Idempotency-Key": key})

    def buy(self, token, hold_id, card, key):
        """Orders a hold and waits for the order's end: the order as it ends."""
        status, placed = self.order(token, hold_id, card, key)
        assert status == 202, placed
        return self.wait_terminal(token, placed["id"])

    def reservation_metric(self, name, **labels):
        """A counter of the reservation service, summed over its processes."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        return metric_sum(text, name, labels)

    def wait_terminal(self, token, order_id, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, body = self.request("GET", f"/api/orders/{order_id}", token=token)
            assert status == 200, body
            if body["status"] in TERMINAL:
                return body
            time.sleep(0.05)
        raise AssertionError(f"order {order_id} is still {body['status']}")


def metric_sum(text, name, labels):
    """The sum of the samples of `name` in Prometheus text that carry `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, _, value = line.rpartition(" ")
        found = dict(pair.split("=", 1) for pair in head[len(name) + 1:-1].split(",") if pair)
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            total += float(value)
    return total


def read_cluster_env(folder):
    values = {}
    with open(os.path.join(folder, "cluster.env")) as f:
        for line in f:
            name, sep, value = line.strip().partition("=")
            if sep and not name.startswith("#"):
                values[name] = value
    return values


class Cluster(Server):
    """The running cluster of scripts/cluster.sh, reached through its gateway."""

    def __init__(self, **settings):
        self.folder = os.environ.get("SEATFLOW_TEST_CLUSTER_DIR")
        if not self.folder:
            raise RuntimeError("SEATFLOW_TEST_CLUSTER_DIR must name a running cluster")
        self.values = read_cluster_env(self.folder)
        self.port = int(self.values["GATEWAY_PORT"])
        self.internal_port = int(self.values["INTERNAL_PORT"])
        self.admin_token = self.values["ADMIN_TOKEN"]
        self.settings = {k: str(v) for k, v in settings.items()}
        if self.settings:
            self.restart()

    def cluster(self, *args):
        env = dict(os.environ, SEATFLOW_CLUSTER_DIR=self.folder)
        done = subprocess.run([os.path.join(REPO, "scripts", "cluster.sh"), *args], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"cluster.sh {' '.join(args)}: " + done.stdout.decode())

    def restart(self, settings=None):
        self.cluster("stop", "services")
        items = settings if settings is not None else self.settings
        self.cluster("start", "services", *[f"{k}={v}" for k, v in items.items()])

    def start(self):
        self.cluster("start", "services", *[f"{k}={v}" for k, v in self.settings.items()])

    def kill9(self):
        self.cluster("kill", "services")

    def stop(self):
        pass  # the cluster outlives a test; its exporters send on their schedule

    def close(self):
        if self.settings:
            self.restart({})

    def server_log(self):
        """The services' warnings and errors (their logs hold every request)."""
        lines = []
        logs = os.path.join(self.folder, "logs")
        for name in sorted(os.listdir(logs)):
            if not name.startswith(("order", "payment", "reservation")):
                continue
            with open(os.path.join(logs, name), "rb") as f:
                for line in f.read().decode(errors="replace").splitlines():
                    if " WARN " in line or " ERROR " in line:
                        lines.append(f"{name}: {line}")
        return "\n".join(lines[-60:])

    def service_token(self):
        with open(os.path.join(self.folder, "seatflow.toml")) as f:
            for line in f:
                name, _, value = line.partition("=")
                if name.strip() == "service_token":
                    return value.strip().strip('"')
        raise RuntimeError("no service_token in the cluster's seatflow.toml")

    def internal_request(self, method, path, token=None, body=None, headers=None):
        return self.request(method, path, body=body, token=token, headers=headers,
                            port=self.internal_port)

    def reservation_metric(self, name, **labels):
        total = 0.0
        for key, port in self.values.items():
            if key.startswith("PORT_reservation_"):
                conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
                conn.request("GET", "/metrics")
                total += metric_sum(conn.getresponse().read().decode(), name, labels)
                conn.close()
        return total

    def request(self, method, path, body=None, token=None, headers=None, port=None):
        # A replica that dies mid-request is a 502 from the gateway: a client
        # tries again, as a browser's user would.
        for _ in range(20):
            status, content = Server.request(self, method, path, body, token, headers, port)
            if status not in (502, 503, 504):
                return status, content
            time.sleep(0.25)
        return status, content


def target(**settings):
    """The system under test, in this run's mode."""
    return Cluster(**settings) if MODE == "distributed" else Server(**settings)


class SseReader:
    """Reads a Server-Sent Events stream on a thread; events land in a list."""

    def __init__(self, server, path):
        self.events = []
        self.cond = threading.Condition()
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.status
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event = {}
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if not line:
                    if "data" in event:
                        with self.cond:
                            self.events.append(event)
                            self.cond.notify_all()
                    event = {}
                elif not line.startswith(":"):
                    field, _, value = line.partition(": ")
                    event[field] = value
        except (OSError, ValueError, AttributeError):
            pass  # closed

    def wait_for(self, predicate, timeout=30):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    data = json.loads(e["data"])
                    if predicate(e.get("event"), data):
                        return e, data
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise AssertionError("no such event; got " + json.dumps(self.events)[:2000])
                self.cond.wait(remaining)

    def close(self):
        # Shut down first: a close alone waits for the reader's blocked read
        # to return, which is the stream's next keep-alive.
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.conn.close()


class PurchaseTest(unittest.TestCase):
    """The scenarios that share a default server."""

    @classmethod
    def setUpClass(cls):
        cls.server = target()
        cls.event = cls.server.demo_event()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_happy_path_sells_the_seats_and_streams_sold(self):
        s = self.server
        stream = SseReader(s, f"/api/events/{self.event}/seats/stream")
        token = s.session()
        status, hold = s.hold(token, self.event, ["A-2-1", "A-2-2"])
        self.assertEqual(status, 201, hold)
        self.assertEqual(hold["amount_minor"], 24000)
        stream.wait_for(lambda t, d: d["state"] == "HELD" and "A-2-1" in d["seats"])
        status, placed = s.order(token, hold["id"], GOOD_CARD, "happy-1")
        self.assertEqual(status, 202, placed)
        _, sold = stream.wait_for(lambda t, d: d["state"] == "SOLD" and "A-2-1" in d["seats"])
        order = s.wait_terminal(token, placed["id"])
        self.assertEqual(order["status"], "COMPLETED")
        self.assertEqual([h["status"] for h in order["history"]],
                         ["AUTHORIZING", "CONFIRMING", "COMPLETED"])
        # The SSE event the browser gets carries the purchase's trace.
        self.assertEqual(sold["trace_id"], order["trace_id"])
        states = s.seat_states(self.event)
        self.assertEqual((states["A-2-1"], states["A-2-2"]), ("SOLD", "SOLD"))
        stream.close()

    def test_a_hold_costs_the_price_of_each_seats_tier(self):
        s = self.server
        token = s.session()
        # premium 120.00 + balcony 45.00; then standard 75.00 + balcony 45.00
        for seats, amount in ((["A-9-1", "D-9-1"], 16500), (["B-9-2", "D-9-2"], 12000)):
            status, hold = s.hold(token, self.event, seats)
            self.assertEqual(status, 201, hold)
            self.assertEqual((hold["amount_minor"], hold["currency"]), (amount, "EUR"), hold)
            status, read = s.request("GET", f"/api/holds/{hold['id']}", token=token)
            self.assertEqual((status, read["amount_minor"]), (200, amount), read)
            status, released = s.request("DELETE", f"/api/holds/{hold['id']}", token=token)
            self.assertEqual(status, 200, released)

    def test_order_status_stream(self):
        s = self.server
        token = s.session()
        status, hold = s.hold(token, self.event, ["A-3-1"])
        self.assertEqual(status, 201, hold)
        status, placed = s.order(token, hold["id"], GOOD_CARD, "stream-1")
        self.assertEqual(status, 202, placed)
        stream = SseReader(s, f"/api/orders/{placed['id']}/events?access_token="
                           + urllib.parse.quote(token))
        order = s.wait_terminal(token, placed["id"])
        if order["status"] != "COMPLETED":
            self.fail(order)
        # Events after the stream opened arrive; a late stream reads the order.
        self.assertIn(order["status"], TERMINAL)
        stream.close()
        other = s.session()
        status, _ = s.request("GET", f"/api/orders/{placed['id']}/events", token=other)
        self.assertEqual(status, 404)

    def test_declined_card_releases_the_seats(self):
        s = self.server
        token = s.session()
        status, hold = s.hold(token, self.event, ["B-2-1", "B-2-2"])
        self.assertEqual(status, 201, hold)
        # Seen held first: a map still a step behind would show them free
        # before the release, then held.
        s.wait_seat_states(self.event, ["B-2-1", "B-2-2"], "HELD")
        status, placed = s.order(token, hold["id"], DECLINED_CARD, "declined-1")
        self.assertEqual(status, 202, placed)
        order = s.wait_terminal(token, placed["id"])
        self.assertEqual((order["status"], order["reason"]), ("CANCELLED", "card_declined"))
        states = s.wait_seat_states(self.event, ["B-2-1", "B-2-2"], "AVAILABLE")
        status, h = s.request("GET", f"/api/holds/{hold['id']}", token=token)
        # The hold tells whether reservation acted on order.cancelled at all.
        self.assertEqual((states["B-2-1"], states["B-2-2"]), ("AVAILABLE", "AVAILABLE"),
                         f"the hold: {h}; the order: {order}")
        self.assertEqual((h["status"], h["end_reason"]), ("RELEASED", "order_cancelled"))

    def test_a_card_slower_than_the_deadline_is_voided_and_the_order_cancelled(self):
        # The gateway answers this card after 30 s; the order service waits
        # order.payment_timeout (5 s), then cannot know the outcome: it voids.
        s = self.server
        token = s.session()
        status, hold = s.hold(token, self.event, ["B-3-1"])
        self.assertEqual(status, 201, hold)
        s.wait_seat_states(self.event, ["B-3-1"], "HELD")
        started = time.time()
        status, placed = s.order(token, hold["id"], SLOW_CARD, "slow-1")
        self.assertEqual(status, 202, placed)
        order = s.wait_terminal(token, placed["id"], timeout=25)
        self.assertEqual((order["status"], order["reason"]), ("CANCELLED", "payment_timeout"),
                         order)
        self.assertLess(time.time() - started, 25, "cancelled before the card's answer came")
        self.assertEqual([h["status"] for h in order["history"]],
                         ["AUTHORIZING", "CANCELLING", "CANCELLED"])
        states = s.wait_seat_states(self.event, ["B-3-1"], "AVAILABLE")
        self.assertEqual(states["B-3-1"], "AVAILABLE")

    def test_repeated_idempotency_key(self):
        s = self.server
        token = s.session()
        status, hold = s.hold(token, self.event, ["C-2-1"])
        self.assertEqual(status, 201, hold)
        first = s.order(token, hold["id"], GOOD_CARD, "same-key")
        # The hold's id in capitals names the same hold: the same request.
        again = s.order(token, hold["id"].upper(), GOOD_CARD, "same-key")
        self.assertEqual(first[0], 202)
        self.assertEqual(again[0], 202)
        self.assertEqual(first[1]["id"], again[1]["id"])
        status, problem = s.order(token, hold["id"], DECLINED_CARD, "same-key")
        self.assertEqual(status, 422, problem)
        self.assertIn("Idempotency-Key", problem["detail"])
        status, problem = s.order(token, "not-a-hold", GOOD_CARD, "same-key")
        self.assertEqual(status, 422, problem)
        # Another buyer's key space is their own, and this order is not theirs.
        other = s.session()
        status, _ = s.request("GET", f"/api/orders/{first[1]['id']}", token=other)
        self.assertEqual(status, 404)
        self.assertEqual(s.wait_terminal(token, first[1]["id"])["status"], "COMPLETED")
        # Once the hold is used up, a repeat still answers the same order.
        status, later = s.order(token, hold["id"], GOOD_CARD, "same-key")
        self.assertEqual(status, 202, later)
        self.assertEqual(later["id"], first[1]["id"])
        # Two identical requests at once: one order, both answered with it.
        status, hold = s.hold(token, self.event, ["C-2-2"])
        self.assertEqual(status, 201, hold)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(
                lambda _: s.order(token, hold["id"], GOOD_CARD, "twin-key"), range(2)))
        self.assertEqual([a[0] for a in answers], [202, 202], answers)
        self.assertEqual(answers[0][1]["id"], answers[1][1]["id"])
        self.assertEqual(s.wait_terminal(token, answers[0][1]["id"])["status"], "COMPLETED")

    def test_a_buyer_lists_their_own_orders_newest_first(self):
        s = self.server
        token = s.session()
        status, body = s.request("GET", "/api/orders", token=token)
        self.assertEqual((status, body), (200, {"orders": []}))
        placed = []
        for n, (seat, card) in enumerate((("D-3-1", GOOD_CARD), ("D-3-2", DECLINED_CARD),
                                          ("D-3-3", GOOD_CARD))):
            status, hold = s.hold(token, self.event, [seat])
            self.assertEqual(status, 201, hold)
            status, order = s.order(token, hold["id"], card, f"list-{n}")
            self.assertEqual(status, 202, order)
            placed.append(order["id"])
        for order_id in placed:
            s.wait_terminal(token, order_id)

        status, page = s.request("GET", "/api/orders?limit=2", token=token)
        self.assertEqual(status, 200, page)
        self.assertEqual([o["id"] for o in page["orders"]], placed[:0:-1])
        self.assertEqual(page["orders"][0]["seats"], ["D-3-3"])
        self.assertEqual(page["orders"][1]["status"], "CANCELLED")
        self.assertEqual(page["orders"][1]["reason"], "card_declined")
        status, rest = s.request(
            "GET", "/api/orders?limit=2&before=" + urllib.parse.quote(page["next"]), token=token)
        self.assertEqual(status, 200, rest)
        self.assertEqual([o["id"] for o in rest["orders"]], placed[:1])
        self.assertEqual(rest["orders"][0]["status"], "COMPLETED")
        self.assertNotIn("next", rest)

        # Another buyer sees none of them.
        status, other = s.request("GET", "/api/orders", token=s.session())
        self.assertEqual((status, other), (200, {"orders": []}))
        self.assertEqual(s.request("GET", "/api/orders")[0], 401)
        for query in ("limit=0", "limit=101", "limit=ten", "before=yesterday", "before=-5.x"):
            status, problem = s.request("GET", f"/api/orders?{query}", token=token)
            self.assertEqual(status, 400, (query, problem))
            self.assertIn("detail", problem)

    def test_a_buyer_refunds_a_completed_order_and_its_seats_go_back_on_sale(self):
        s = self.server
        # Ten seats: as many as one buyer may hold or buy of an event.
        event = s.create_event([{"name": "R", "tier": "std", "rows": 1, "seats_per_row": 10}])
        seats = [f"R-1-{n}" for n in range(1, 11)]
        token = s.session()
        status, hold = s.hold(token, event, seats)
        self.assertEqual(status, 201, hold)
        placed = s.buy(token, hold["id"], GOOD_CARD, "refund-1")
        self.assertEqual(placed["status"], "COMPLETED")
        refund = f"/api/orders/{placed['id']}/refund"

        # No one else can refund it, or learn that it exists.
        status, problem = s.request("POST", refund, token=s.session())
        self.assertEqual(status, 404, problem)
        self.assertEqual(s.request("POST", refund)[0], 401)
        self.assertEqual(set(s.seat_states(event).values()), {"SOLD"})

        status, body = s.request("POST", refund, token=token)
        self.assertEqual(status, 202, body)
        self.assertIn(body["status"], ("REFUNDING", "REFUNDED"))
        order = s.wait_terminal(token, placed["id"])
        self.assertEqual(order["status"], "REFUNDED", order)
        self.assertEqual([h["status"] for h in order["history"]][-3:],
                         ["COMPLETED", "REFUNDING", "REFUNDED"])
        # Asked again: the same answer, nothing more done.
        self.assertEqual(s.request("POST", refund, token=token), (202, {"id": placed["id"],
                                                                        "status": "REFUNDED"}))

        # The seats are on sale again (another replica learns of it from the
        # live stream, a moment later), and no longer count toward the cap.
        deadline = time.time() + 10
        while set(s.seat_states(event).values()) != {"AVAILABLE"}:
            self.assertLess(time.time(), deadline, s.seat_states(event))
            time.sleep(0.05)
        status, again = s.hold(token, event, seats)
        self.assertEqual(status, 201, again)

        # Only a completed order is refunded.
        declined = s.buy(token, again["id"], DECLINED_CARD, "refund-2")
        self.assertEqual(declined["status"], "CANCELLED")
        status, problem = s.request("POST", f"/api/orders/{declined['id']}/refund", token=token)
        self.assertEqual(status, 409, problem)
        self.assertIn("only a completed order", problem["detail"])

    def test_a_ticket_admits_once_at_the_door_and_a_used_one_is_not_refunded(self):
        s = self.server
        event = s.create_event([{"name": "T", "tier": "std", "rows": 1, "seats_per_row": 4}])
        other = s.create_event([{"name": "U", "tier": "std", "rows": 1, "seats_per_row": 1}])
        token = s.session()
        status, hold = s.hold(token, event, ["T-1-1", "T-1-2"])
        self.assertEqual(status, 201, hold)
        # Only a sold hold has tickets.
        self.assertNotIn("tickets", s.request("GET", f"/api/holds/{hold['id']}", token=token)[1])
        placed = s.buy(token, hold["id"], GOOD_CARD, "ticket-1")
        self.assertEqual(placed["status"], "COMPLETED")
        status, sold = s.request("GET", f"/api/holds/{hold['id']}", token=token)
        self.assertEqual(status, 200, sold)
        tickets = {t["seat"]: t for t in sold["tickets"]}
        self.assertEqual(set(tickets), {"T-1-1", "T-1-2"})
        code = tickets["T-1-1"]["code"]
        self.assertNotEqual(code, tickets["T-1-2"]["code"])
        self.assertNotIn("checked_in_at", tickets["T-1-1"])

        # The door's list of events: the admin's only.
        self.assertEqual(s.request("GET", "/api/admin/events")[0], 401)
        status, listed = s.request("GET", "/api/admin/events", token=s.admin_token)
        self.assertEqual(status, 200, listed)
        self.assertIn(event, [e["id"] for e in listed["events"]])

        summary = f"/api/admin/events/{event}/summary"
        self.assertEqual(s.request("GET", summary)[0], 401)
        self.assertEqual(s.request("GET", "/api/admin/events/no-such-event/summary",
                                   token=s.admin_token)[0], 404)
        status, before = s.request("GET", summary, token=s.admin_token)
        self.assertEqual(status, 200, before)
        self.assertEqual(before["seats"], {"AVAILABLE": 2, "HELD": 0, "SOLD": 2})
        self.assertEqual((before["orders_sold"], before["tickets_sold"], before["revenue_minor"],
                          before["tickets_admitted"]),
                         (1, 2, sold["amount_minor"], 0))

        door = f"/api/admin/events/{event}/check-ins"
        self.assertEqual(s.request("POST", door, {"code": code})[0], 401)
        self.assertIn(s.request("POST", door, {"code": code}, token=token)[0], (401, 403))
        admin = s.admin_token
        for body, expected in (({}, 400), ({"code": 7}, 400), ({"code": "not-a-ticket"}, 404),
                               ({"code": code[:-1] + ("A" if code[-1] != "A" else "B")}, 404),
                               ({"code": code.replace("T-1-1", "T-1-3")}, 404)):
            status, problem = s.request("POST", door, body, token=admin)
            self.assertEqual(status, expected, (body, problem))
            self.assertTrue(problem.get("detail"), problem)
        self.assertEqual(s.request("POST", "/api/admin/events/no-such-event/check-ins",
                                   {"code": code}, token=admin)[0], 404)
        status, problem = s.request("POST", f"/api/admin/events/{other}/check-ins",
                                    {"code": code}, token=admin)
        self.assertEqual(status, 409, problem)
        self.assertIn("for another event", problem["detail"])

        # Admitted once; the second time says when the first was.
        status, admitted = s.request("POST", door, {"code": f"  {code}\n"}, token=admin)
        self.assertEqual(status, 200, admitted)
        self.assertEqual((admitted["seat"], admitted["event_id"], admitted["order_id"]),
                         ("T-1-1", event, placed["id"]))
        status, problem = s.request("POST", door, {"code": code}, token=admin)
        self.assertEqual(status, 409, problem)
        self.assertIn(f"admitted at {admitted['checked_in_at']}", problem["detail"])
        tickets = {t["seat"]: t for t in
                   s.request("GET", f"/api/holds/{hold['id']}", token=token)[1]["tickets"]}
        self.assertEqual(tickets["T-1-1"]["checked_in_at"], admitted["checked_in_at"])
        self.assertEqual(s.request("GET", summary, token=admin)[1]["tickets_admitted"], 1)
        self.assertNotIn("checked_in_at", tickets["T-1-2"])

        # A used ticket is not refunded, nor is the rest of its order.
        status, problem = s.request("POST", f"/api/orders/{placed['id']}/refund", token=token)
        self.assertEqual(status, 409, problem)
        self.assertIn("T-1-1 was admitted at the door", problem["detail"])
        self.assertEqual(s.request("GET", f"/api/orders/{placed['id']}", token=token)[1]["status"],
                         "COMPLETED")

        # A refunded ticket admits no one.
        buyer = s.session()
        status, hold = s.hold(buyer, event, ["T-1-3"])
        self.assertEqual(status, 201, hold)
        placed = s.buy(buyer, hold["id"], GOOD_CARD, "ticket-2")
        refunded_code = s.request("GET", f"/api/holds/{hold['id']}",
                                  token=buyer)[1]["tickets"][0]["code"]
        status, body = s.request("POST", f"/api/orders/{placed['id']}/refund", token=buyer)
        self.assertEqual(status, 202, body)
        status, problem = s.request("POST", door, {"code": refunded_code}, token=admin)
        self.assertEqual(status, 409, problem)
        self.assertIn("was refunded", problem["detail"])
        self.assertEqual(s.wait_terminal(buyer, placed["id"])["status"], "REFUNDED")
        self.assertEqual(s.request("POST", door, {"code": refunded_code}, token=admin)[0], 409)
        # Refunded: out of the sales; the first order and its admission stay.
        s.wait_seat_states(event, ["T-1-3"], "AVAILABLE")
        after = s.request("GET", summary, token=admin)[1]
        self.assertEqual((after["orders_sold"], after["tickets_sold"], after["tickets_admitted"]),
                         (1, 2, 1))
        self.assertEqual(after["seats"]["SOLD"], 2)
        # Voided (the hold turns RETURNED once reservation hears of the refund).
        self.assertFalse(s.request("GET", f"/api/holds/{hold['id']}", token=buyer)[1].get("tickets"))

    def test_an_admin_cancels_an_event_and_its_buyers_are_refunded(self):
        s = self.server
        event = s.create_event([{"name": "X", "tier": "std", "rows": 1, "seats_per_row": 4}])
        buyer = s.session()
        status, hold = s.hold(buyer, event, ["X-1-1"])
        self.assertEqual(status, 201, hold)
        placed = s.buy(buyer, hold["id"], GOOD_CARD, "cancel-1")
        self.assertEqual(placed["status"], "COMPLETED")
        holder = s.session()
        status, held = s.hold(holder, event, ["X-1-2"])
        self.assertEqual(status, 201, held)
        stream = SseReader(s, f"/api/events/{event}/seats/stream")

        cancel = f"/api/admin/events/{event}/cancel"
        self.assertEqual(s.request("POST", cancel)[0], 401)
        self.assertIn(s.request("POST", cancel, token=buyer)[0], (401, 403))
        self.assertEqual(s.request("POST", f"/api/admin/events/{uuid.uuid4()}/cancel",
                                   token=s.admin_token)[0], 404)
        self.assertEqual(s.seat_states(event)["X-1-3"], "AVAILABLE", "refused: nothing changed")
        status, cancelled = s.request("POST", cancel, token=s.admin_token)
        self.assertEqual(status, 200, cancelled)
        self.assertEqual(cancelled["id"], event)
        self.assertIn("cancelled_at", cancelled)
        _, told = stream.wait_for(lambda t, d: t == "cancelled")
        self.assertEqual(told["event_id"], event)
        stream.close()

        # The buyer's order is refunded (it stays COMPLETED until order
        # hears of the cancellation); the unpaid hold is released.
        deadline = time.time() + 30
        while (order := s.request("GET", f"/api/orders/{placed['id']}", token=buyer)[1])[
                "status"] != "REFUNDED" and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual((order["status"], order.get("reason")), ("REFUNDED", "event_cancelled"))
        status, released = s.request("GET", f"/api/holds/{held['id']}", token=holder)
        self.assertEqual((status, released["status"], released.get("end_reason")),
                         (200, "RELEASED", "event_cancelled"), released)
        status, problem = s.order(holder, held["id"], GOOD_CARD, "cancel-2")
        self.assertEqual(status, 409, problem)

        # Off sale: out of the list, said so by its id, no hold taken. (Each
        # replica hears of it on the live stream, a moment later.)
        deadline = time.time() + 10
        while True:
            seen = [s.request("GET", f"/api/events/{event}")[1] for _ in range(4)]
            if all("cancelled_at" in e for e in seen) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual([e.get("cancelled_at") for e in seen], [cancelled["cancelled_at"]] * 4)
        self.assertNotIn(event, [e["id"] for e in s.request("GET", "/api/events")[1]["events"]])
        status, problem = s.hold(s.session(), event, ["X-1-3"])
        self.assertEqual(status, 422, problem)
        self.assertIn("was cancelled", problem["detail"])
        # Cancelled again: the same answer, nothing more done.
        self.assertEqual(s.request("POST", cancel, token=s.admin_token), (200, cancelled))

    def test_an_organizer_changes_an_event_until_it_starts(self):
        s = self.server
        status, created = s.post_event([{"name": "E", "tier": "std", "rows": 1, "seats_per_row": 4}])
        self.assertEqual(status, 201, created)
        event = created["id"]
        path = f"/api/admin/events/{event}"
        stream = SseReader(s, f"/api/events/{event}/seats/stream")
        buyer = s.session()

        def patch(body, token=s.admin_token, where=path):
            return s.request("PATCH", where, body=body, token=token)

        def read():  # the event by its id, without the count of seats left
            e = s.request("GET", f"/api/events/{event}")[1]
            e.pop("seats_available", None)
            return e

        # Bad requests change nothing.
        self.assertEqual(patch({"name": "X"}, token=None)[0], 401)
        self.assertIn(patch({"name": "X"}, token=buyer)[0], (401, 403))
        self.assertEqual(patch({"name": "X"}, where=f"/api/admin/events/{uuid.uuid4()}")[0], 404)
        for body, detail in (
                ({}, "nothing to change"),
                ([], "must be a JSON object"),
                ({"currency": "USD"}, "field 'currency' cannot be changed"),
                ({"sections": []}, "field 'sections' cannot be changed"),
                ({"colour": "red"}, "unknown field 'colour'"),
                ({"name": ""}, "'name'"),
                ({"starts_at": "2001-01-01T00:00:00Z"}, "has passed"),
                ({"starts_at": "tomorrow"}, "field 'starts_at'"),
                ({"name": "Y", "sales_open_at": "2031-01-01T00:00:00Z"},
                 "field 'sales_open_at': 2031-01-01T00:00:00.000Z is not before the start"),
                ({"max_seats_per_buyer": 11}, "not raise it"),
                ({"max_seats_per_buyer": 0}, "not raise it")):
            status, problem = patch(body)
            self.assertEqual(status, 400, (body, problem))
            self.assertIn(detail, problem["detail"], body)
        self.assertEqual(read(), created, "nothing changed")

        # Renamed, moved, its sale put off and its limit lowered: one change.
        opens = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
        opens_text = opens.strftime("%Y-%m-%dT%H:%M:%S.") + f"{opens.microsecond // 1000:03d}Z"
        status, changed = patch({"name": "Encore", "venue": "Small Hall",
                                 "starts_at": "2030-06-01T19:00:00Z", "sales_open_at": opens_text,
                                 "max_seats_per_buyer": 1})
        self.assertEqual(status, 200, changed)
        self.assertEqual({k: changed.get(k) for k in ("id", "name", "venue", "starts_at",
                                                       "sales_open_at", "max_seats_per_buyer",
                                                       "currency", "seat_count")},
                         {"id": event, "name": "Encore", "venue": "Small Hall",
                          "starts_at": "2030-06-01T19:00:00.000Z", "sales_open_at": opens_text,
                          "max_seats_per_buyer": 1, "currency": "EUR", "seat_count": 4})
        _, told = stream.wait_for(lambda t, d: t == "updated")
        self.assertEqual(told["event"], changed)
        self.assertTrue(told["trace_id"])
        # Every replica's map says so (each hears of it on the live stream).
        deadline = time.time() + 10
        while True:
            seen = [read() for _ in range(4)]
            if all(e == changed for e in seen) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(seen, [changed] * 4)
        self.assertEqual(s.request("GET", f"/api/events/{event}/seats")[1]["event"], changed)
        listed = {e["id"]: e for e in s.request("GET", "/api/events")[1]["events"]}
        self.assertEqual((listed[event]["name"], listed[event]["starts_at"]),
                         ("Encore", "2030-06-01T19:00:00.000Z"))
        # The new sale time and limit hold for holds.
        status, problem = s.hold(buyer, event, ["E-1-1"])
        self.assertEqual((status, problem["detail"]),
                         (422, f"sales of event {event} open at {opens_text}"), problem)
        time.sleep(max(0.0, (opens - datetime.datetime.now(datetime.timezone.utc))
                       .total_seconds()) + 0.2)
        status, hold = s.hold(buyer, event, ["E-1-1"])
        self.assertEqual(status, 201, hold)
        status, problem = s.hold(buyer, event, ["E-1-2"])
        self.assertEqual((status, problem["detail"]),
                         (422, "a buyer may hold or buy at most 1 seats of this event; "
                               "you have 1"), problem)
        # Null puts it back on sale at once under the service's limit.
        status, changed = patch({"sales_open_at": None, "max_seats_per_buyer": None})
        self.assertEqual(status, 200, changed)
        self.assertNotIn("sales_open_at", changed)
        self.assertNotIn("max_seats_per_buyer", changed)
        self.assertEqual(changed["name"], "Encore", "what was left out stays")
        deadline = time.time() + 10
        while True:
            status, hold = s.hold(buyer, event, ["E-1-2"])
            if status == 201 or time.time() > deadline:
                break
            time.sleep(0.05)  # the replica that takes it may hear of the change a moment later
        self.assertEqual(status, 201, hold)

        # A cancelled event is not changed.
        self.assertEqual(s.request("POST", f"{path}/cancel", token=s.admin_token)[0], 200)
        status, problem = patch({"name": "Again"})
        self.assertEqual((status, problem["detail"]),
                         (409, f"event {event} is cancelled: it can no longer be changed"), problem)
        stream.close()

        # Nor is one that has started.
        starts = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1.5)
        status, soon = s.post_event([{"name": "S", "tier": "std", "rows": 1, "seats_per_row": 1}],
                                    starts_at=starts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        self.assertEqual(status, 201, soon)
        time.sleep(max(0.0, (starts - datetime.datetime.now(datetime.timezone.utc))
                       .total_seconds()) + 0.2)
        status, problem = patch({"starts_at": "2030-01-01T20:00:00Z"},
                                where=f"/api/admin/events/{soon['id']}")
        self.assertEqual((status, problem["detail"]),
                         (409, f"event {soon['id']} has started: it can no longer be changed"),
                         problem)

    def test_the_event_list_counts_the_seats_left(self):
        s = self.server
        event = s.create_event([{"name": "L", "tier": "std", "rows": 1, "seats_per_row": 3}])

        def seats_left(expected, path="/api/events"):
            """The count once it is `expected` (another replica's map
            learns of a change from the live stream, a moment later), in
            the list or, by the event's own path, the event."""
            deadline = time.time() + 10
            while True:
                status, body = s.request("GET", path)
                self.assertEqual(status, 200, body)
                listed = {e["id"]: e for e in body["events"]}[event] if "events" in body else body
                if listed["seats_available"] == expected or time.time() > deadline:
                    return listed["seats_available"]
                time.sleep(0.05)

        self.assertEqual(seats_left(3), 3)
        token = s.session()
        status, hold = s.hold(token, event, ["L-1-1", "L-1-2"])
        self.assertEqual(status, 201, hold)
        self.assertEqual(seats_left(1), 1)
        self.assertEqual(seats_left(1, f"/api/events/{event}"), 1)
        status, one = s.request("GET", f"/api/events/{event}")
        self.assertEqual((status, one["seat_count"]), (200, 3), one)
        status, placed = s.order(token, hold["id"], GOOD_CARD, "seats-left-1")
        self.assertEqual(status, 202, placed)
        self.assertEqual(s.wait_terminal(token, placed["id"])["status"], "COMPLETED")
        status, hold = s.hold(token, event, ["L-1-3"])
        self.assertEqual(status, 201, hold)
        self.assertEqual(seats_left(0), 0)
        status, _ = s.request("DELETE", f"/api/holds/{hold['id']}", token=token)
        self.assertEqual(status, 200)
        self.assertEqual(seats_left(1), 1)

    def test_best_available_holds_the_best_seats_side_by_side(self):
        s = self.server
        status, created = s.post_event(
            [{"name": "S", "tier": "std", "rows": 2, "seats_per_row": 10},
             {"name": "V", "tier": "vip", "rows": 1, "seats_per_row": 6}],
            tiers=[{"name": "vip", "price_minor": 9000}, {"name": "std", "price_minor": 5000}])
        self.assertEqual(status, 201, created)
        event = created["id"]

        def best(token, **spec):
            return s.request("POST", f"/api/events/{event}/holds", token=token,
                             body={"best_available": spec})

        first, second = s.session(), s.session()
        # The dearer tier first, the middle of its row.
        status, hold = best(first, count=2)
        self.assertEqual((status, hold["seats"], hold["amount_minor"]),
                         (201, ["V-1-3", "V-1-4"], 18000), hold)
        status, hold = best(first, count=2, tier="std")
        self.assertEqual((status, hold["seats"]), (201, ["S-1-5", "S-1-6"]), hold)
        # No five vip seats are left side by side; three go to the front std row.
        status, problem = best(second, count=5, tier="vip")
        self.assertEqual((status, problem["detail"]),
                         (409, "no 5 seats side by side are available in tier 'vip'"), problem)
        status, hold = best(second, count=3)
        self.assertEqual(status, 201, hold)
        numbers = sorted(int(seat.split("-")[2]) for seat in hold["seats"])
        self.assertTrue(all(seat.startswith("S-1-") for seat in hold["seats"]), hold)
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 3)), hold)
        self.assertEqual(hold["amount_minor"], 15000)
        # The hold is a hold like any other: the buyer pays for it.
        status, placed = s.order(second, hold["id"], GOOD_CARD, "best-1")
        self.assertEqual(status, 202, placed)
        self.assertEqual(s.wait_terminal(second, placed["id"])["status"], "COMPLETED")

        # Bad requests change nothing. (The map learns of the sale from the
        # live stream, a moment after the order completes.)
        before = s.wait_seat_states(event, hold["seats"], "SOLD")
        for body, detail in (
                ({"best_available": {"count": 0}}, "in 'best_available': field 'count' must be 1 to 10"),
                ({"best_available": {"count": 11}}, "in 'best_available': field 'count' must be 1 to 10"),
                ({"best_available": {"count": "2"}}, "in 'best_available': field 'count' must be an integer"),
                ({"best_available": 2}, "field 'best_available' must be a JSON object"),
                ({"best_available": {"count": 2}, "seats": ["S-2-1"]},
                 "give either 'seats' or 'best_available', not both"),
                ({"best_available": {"count": 2, "tier": "balcony"}},
                 f"event {event} has no seats of tier 'balcony'")):
            status, problem = s.request("POST", f"/api/events/{event}/holds", token=s.session(),
                                        body=body)
            self.assertEqual((status, problem["detail"]), (400, detail), body)
        self.assertEqual(s.seat_states(event), before)

    def test_buyers_racing_for_the_best_seats_never_share_one(self):
        s = self.server
        event = s.create_event([{"name": "P", "tier": "std", "rows": 4, "seats_per_row": 10}])
        holds, errors = [], []
        lock = threading.Lock()

        def buyer():
            try:
                token = s.session()
                for _ in range(20):
                    status, body = s.request("POST", f"/api/events/{event}/holds", token=token,
                                             body={"best_available": {"count": 2}})
                    if status == 201:
                        with lock:
                            holds.append(body["seats"])
                        return
                    if status != 409:
                        raise AssertionError(f"best available answered {status}: {body}")
                    if body["detail"].startswith("no 2 seats"):
                        return
            except Exception as e:  # reported by the test
                errors.append(repr(e))

        threads = [threading.Thread(target=buyer) for _ in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertFalse(errors, errors[:3])
        held = [seat for seats in holds for seat in seats]
        self.assertEqual(len(held), len(set(held)), "a seat is in two holds")
        for seats in holds:  # two seats side by side in one row
            (row, a), (row_b, b) = sorted((r, int(n)) for _, r, n in (x.split("-") for x in seats))
            self.assertEqual((row, a + 1), (row_b, b), seats)
        self.assertEqual(len(holds), 20, "forty seats in rows of ten make twenty pairs")
        states = s.wait_seat_states(event, held, "HELD")
        self.assertEqual(sorted(seat for seat, state in states.items() if state == "HELD"),
                         sorted(held))

    def test_sales_open_at_the_time_set(self):
        s = self.server

        def post(**fields):
            return s.post_event([{"name": "O", "tier": "std", "rows": 1, "seats_per_row": 4}],
                                **fields)

        opens = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
        opens_text = opens.strftime("%Y-%m-%dT%H:%M:%S.") + f"{opens.microsecond // 1000:03d}Z"
        status, event = post(sales_open_at=opens_text)
        self.assertEqual((status, event.get("sales_open_at")), (201, opens_text), event)
        status, listed = s.request("GET", "/api/events")
        self.assertEqual({e["id"]: e for e in listed["events"]}[event["id"]]["sales_open_at"],
                         opens_text)
        token = s.session()
        refused = f"sales of event {event['id']} open at {opens_text}"
        status, problem = s.hold(token, event["id"], ["O-1-1"])
        self.assertEqual((status, problem["detail"]), (422, refused), problem)
        status, problem = s.request("POST", f"/api/events/{event['id']}/holds", token=token,
                                    body={"best_available": {"count": 1}})
        self.assertEqual((status, problem["detail"]), (422, refused), problem)
        time.sleep(max(0.0, (opens - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
                   + 0.2)
        status, hold = s.hold(token, event["id"], ["O-1-1"])
        self.assertEqual(status, 201, hold)

        status, problem = post(sales_open_at="2030-01-01T20:00:00Z")
        self.assertEqual((status, problem["detail"]),
                         (400, "field 'sales_open_at' must be before 'starts_at': sales close "
                               "when the event starts"), problem)
        status, problem = post(sales_open_at="soon")
        self.assertEqual(status, 400, problem)
        self.assertTrue(problem["detail"].startswith("field 'sales_open_at'"), problem)

    def test_an_event_may_allow_fewer_seats_per_buyer(self):
        s = self.server

        def post(cap):
            return s.post_event([{"name": "C", "tier": "std", "rows": 1, "seats_per_row": 6}],
                                max_seats_per_buyer=cap)

        status, event = post(2)
        self.assertEqual((status, event.get("max_seats_per_buyer")), (201, 2), event)
        token = s.session()
        status, hold = s.hold(token, event["id"], ["C-1-1", "C-1-2"])
        self.assertEqual(status, 201, hold)
        for body in ({"seats": ["C-1-3"]}, {"best_available": {"count": 1}}):
            status, problem = s.request("POST", f"/api/events/{event['id']}/holds", token=token,
                                        body=body)
            self.assertEqual((status, problem["detail"]),
                             (422, "a buyer may hold or buy at most 2 seats of this event; "
                                   "you have 2"), problem)
        status, hold = s.hold(s.session(), event["id"], ["C-1-3"])  # another buyer may
        self.assertEqual(status, 201, hold)
        for cap in (0, 11, "2"):  # the service's cap in these tests is 10
            status, problem = post(cap)
            self.assertEqual(status, 400, problem)
            self.assertIn("an event may lower the service's cap of seats per buyer",
                          problem["detail"])
        status, event = post(None)  # null: the service's cap
        self.assertEqual((status, "max_seats_per_buyer" in event), (201, False), event)

    def test_holds_and_check_ins_are_counted(self):
        s = self.server
        counters = {
            "listed held": ("seatflow_holds_total", {"kind": "listed", "outcome": "held"}),
            "listed taken": ("seatflow_holds_total", {"kind": "listed", "outcome": "taken"}),
            "best held": ("seatflow_holds_total", {"kind": "best_available", "outcome": "held"}),
            "best refused": ("seatflow_holds_total",
                             {"kind": "best_available", "outcome": "refused"}),
            "not a ticket": ("seatflow_check_ins_total", {"outcome": "not_a_ticket"}),
        }

        def read():
            return {k: s.reservation_metric(name, **labels) for k, (name, labels) in counters.items()}

        before = read()
        event = s.create_event([{"name": "M", "tier": "std", "rows": 1, "seats_per_row": 4}])
        status, _ = s.hold(s.session(), event, ["M-1-1"])
        self.assertEqual(status, 201)
        status, _ = s.hold(s.session(), event, ["M-1-1"])
        self.assertEqual(status, 409)
        status, _ = s.request("POST", f"/api/events/{event}/holds", token=s.session(),
                              body={"best_available": {"count": 2}})
        self.assertEqual(status, 201)
        status, opens_later = s.post_event(
            [{"name": "M", "tier": "std", "rows": 1, "seats_per_row": 4}],
            sales_open_at="2029-01-01T20:00:00Z")
        self.assertEqual(status, 201, opens_later)
        status, _ = s.request("POST", f"/api/events/{opens_later['id']}/holds", token=s.session(),
                              body={"best_available": {"count": 2}})
        self.assertEqual(status, 422)
        status, _ = s.request("POST", f"/api/admin/events/{event}/check-ins", token=s.admin_token,
                              body={"code": "not-a-ticket"})
        self.assertEqual(status, 404)
        after = read()
        self.assertEqual({k: after[k] - before[k] for k in counters}, {k: 1.0 for k in counters})

    def test_sales_close_when_the_event_starts(self):
        s = self.server
        status, body = s.post_event([{"name": "Y", "tier": "std", "rows": 1, "seats_per_row": 2}],
                                    starts_at="2020-01-01T20:00:00Z")
        self.assertEqual(status, 400, body)
        self.assertIn("has passed", body["detail"])

        # Far enough ahead that the hold below comes first on a busy machine.
        starts = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
        event = s.create_event([{"name": "S", "tier": "std", "rows": 1, "seats_per_row": 4}],
                               starts_at=starts.isoformat(timespec="milliseconds"))
        listed = lambda: [e["id"] for e in s.request("GET", "/api/events")[1]["events"]]
        self.assertIn(event, listed())
        token = s.session()
        status, hold = s.hold(token, event, ["S-1-1"])
        self.assertEqual(status, 201, hold)

        now = datetime.datetime.now(datetime.timezone.utc)
        time.sleep(max(0.0, (starts - now).total_seconds()) + 0.1)
        status, refused = s.hold(token, event, ["S-1-2"])
        self.assertEqual(status, 422, refused)
        self.assertIn("closed when it started", refused["detail"])
        self.assertEqual(s.seat_states(event)["S-1-2"], "AVAILABLE", "a refused hold changes nothing")
        self.assertNotIn(event, listed(), "the list holds the events on sale")
        self.assertEqual(s.request("GET", f"/api/events/{event}")[0], 200)
        # A hold placed before the start is still paid for until it expires.
        status, placed = s.order(token, hold["id"], GOOD_CARD, "after-start-1")
        self.assertEqual(status, 202, placed)
        self.assertEqual(s.wait_terminal(token, placed["id"])["status"], "COMPLETED")
        # Refunds closed when the event started, as sales did.
        status, problem = s.request("POST", f"/api/orders/{placed['id']}/refund", token=token)
        self.assertEqual(status, 409, problem)
        self.assertIn("the event has started", problem["detail"])

    def test_bad_input_is_refused_with_a_problem(self):
        s = self.server
        token = s.session()
        for body in ({"seats": []}, {"seats": "A-1-1"}, {"seats": ["Z-9-9"]}, {}):
            status, problem = s.hold(token, self.event, body.get("seats"))
            self.assertEqual(status, 400, (body, problem))
            self.assertIn("detail", problem)
        status, problem = s.order(token, "no-such-hold", GOOD_CARD, "bad-1")
        self.assertEqual(status, 404, problem)
        # A hold id that is no UUID names no hold, whatever it holds: it does
        # not reach the hold check's URL (its path, its query).
        for n, hold_id in enumerate(("../../api/events", "A-1-1 x", "x?y=1", "%2e%2e", "\u00e9")):
            status, problem = s.order(token, hold_id, GOOD_CARD, f"bad-id-{n}")
            self.assertEqual(status, 404, (hold_id, problem))
            self.assertIn("no hold", problem["detail"])
        status, problem = s.order(token, "x", "1234", "bad-2")
        self.assertEqual(status, 400, problem)
        status, problem = s.request("POST", "/api/orders", token=token, body={"hold_id": "x"})
        self.assertEqual(status, 400, problem)
        status, _ = s.request("POST", "/api/admin/events", token=token, body={})
        self.assertEqual(status, 403)


    def test_payment_authorize_is_idempotent_and_a_void_first_refuses_it(self):
        s = self.server
        token = s.service_token()

        def authorize(key, amount, card=GOOD_CARD, currency="EUR"):
            return s.internal_request(
                "POST", "/internal/payments/authorize", token=token,
                body={"order_id": "order-" + key, "amount_minor": amount, "currency": currency,
                      "card_number": card},
                headers={"Idempotency-Key": key})

        # A currency is an ISO 4217 code in capitals, as an event's is.
        for currency in ("eur", "E", "1 2"):
            status, problem = authorize(f"e2e-pay-{uuid.uuid4()}", 5000, currency=currency)
            self.assertEqual(status, 400, (currency, problem))
            self.assertIn("ISO 4217", problem["detail"])

        key = f"e2e-pay-{uuid.uuid4()}"
        status, first = authorize(key, 5000)
        self.assertEqual((status, first["status"]), (201, "AUTHORIZED"), first)
        status, again = authorize(key, 5000)
        self.assertEqual((status, again["id"]), (201, first["id"]), "the same key and body")
        status, problem = authorize(key, 6000)
        self.assertEqual(status, 422, problem)
        status, declined = authorize(f"e2e-pay-{uuid.uuid4()}", 5000, DECLINED_CARD)
        self.assertEqual((status, declined["payment_status"]), (402, "DECLINED"), declined)
        # A void that comes first: the late authorization is refused.
        late = f"e2e-pay-{uuid.uuid4()}"
        status, voided = s.internal_request(
            "POST", "/internal/payments/void", token=token,
            body={"idempotency_key": late, "order_id": "order-" + late})
        self.assertEqual(status, 200, voided)
        status, problem = authorize(late, 5000)
        self.assertEqual(status, 409, problem)


class HoldExpiryTest(unittest.TestCase):
    """Seats that go while the payment is being authorized (which takes
    1.5 s here): a hold that expires, an event cancelled."""

    @classmethod
    def setUpClass(cls):
        cls.server = target(SEATFLOW_RESERVATION_HOLD_TTL="1s",
                            SEATFLOW_PAYMENT_GATEWAY_LATENCY="1500ms",
                            SEATFLOW_RESERVATION_SWEEP_INTERVAL="200ms")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_an_event_cancelled_during_the_authorization_voids_the_payment(self):
        s = self.server
        event = s.create_event([{"name": "C", "tier": "std", "rows": 1, "seats_per_row": 2}])
        token = s.session()
        status, hold = s.hold(token, event, ["C-1-1"])
        self.assertEqual(status, 201, hold)
        status, placed = s.order(token, hold["id"], GOOD_CARD, "cancelled-1")
        self.assertEqual(status, 202, placed)
        status, body = s.request("POST", f"/api/admin/events/{event}/cancel", token=s.admin_token)
        self.assertEqual(status, 200, body)
        order = s.wait_terminal(token, placed["id"])
        self.assertEqual((order["status"], order["reason"]), ("CANCELLED", "event_cancelled"))
        status, payment = s.internal_request("GET", f"/internal/payments/{order['payment_id']}",
                                             token=s.service_token())
        self.assertEqual((status, payment["status"]), (200, "VOIDED"), payment)

    def test_expired_hold_voids_the_payment_and_cancels(self):
        s = self.server
        event = s.demo_event()
        token = s.session()
        status, hold = s.hold(token, event, ["A-1-1"])
        self.assertEqual(status, 201, hold)
        status, placed = s.order(token, hold["id"], GOOD_CARD, "expiry-1")
        self.assertEqual(status, 202, placed)
        order = s.wait_terminal(token, placed["id"])
        self.assertEqual((order["status"], order["reason"]), ("CANCELLED", "hold_expired"))
        self.assertEqual([h["status"] for h in order["history"]],
                         ["AUTHORIZING", "CONFIRMING", "CANCELLING", "CANCELLED"])
        status, payment = s.internal_request("GET",
                                             f"/internal/payments/{order['payment_id']}",
                                             token=s.service_token())
        self.assertEqual((status, payment["status"]), (200, "VOIDED"), payment)
        self.assertEqual(s.wait_seat_states(event, ["A-1-1"], "AVAILABLE")["A-1-1"],
                         "AVAILABLE")


def race(server, event_id, buyers, cards, terminal_timeout=60):
    """`buyers` threads buy one seat each until none is left; returns their orders.

    Each order must be terminal within `terminal_timeout` seconds of its placing."""
    orders = []
    lock = threading.Lock()
    errors = []

    def buyer(n):
        try:
            token = server.session()
            card = cards[n % len(cards)]
            # A buyer keeps trying for two minutes: seats held by others may
            # come free again (a declined card, an expired hold), also after
            # an outage stalled every order for a while.
            deadline = time.time() + 120
            attempt = 0
            while time.time() < deadline:
                attempt += 1
                states = server.seat_states(event_id)
                free = [seat for seat, state in states.items() if state == "AVAILABLE"]
                if not free:
                    if "HELD" not in states.values():
                        return
                    time.sleep(0.05)
                    continue
                status, hold = server.hold(token, event_id, [random.choice(free)])
                if status == 409:
                    continue
                if status != 201:
                    raise AssertionError(f"hold answered {status}: {hold}")
                status, placed = server.order(token, hold["id"], card, f"race-{n}-{attempt}")
                if status != 202:
                    raise AssertionError(f"order answered {status}: {placed}")
                order = server.wait_terminal(token, placed["id"], timeout=terminal_timeout)
                with lock:
                    orders.append((token, order))
                if order["status"] == "COMPLETED":
                    return
        except Exception as e:  # reported by the test
            errors.append(repr(e))

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(buyers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    return orders


def check_invariants(test, server, event_id, orders, seats):
    states = server.seat_states(event_id)
    sold = [seat for seat, state in states.items() if state == "SOLD"]
    completed = [o for _, o in orders if o["status"] == "COMPLETED"]
    bought = [seat for o in completed for seat in o["seats"]]
    test.assertEqual(len(bought), len(set(bought)), "a seat was sold twice")
    test.assertEqual(sorted(bought), sorted(sold), "sold seats and completed orders differ")
    test.assertEqual(len(sold), seats)
    for token, o in orders:
        test.assertIn(o["status"], TERMINAL)
        if o["status"] == "CANCELLED":
            status, hold = server.request("GET", f"/api/holds/{o['hold_id']}", token=token)
            test.assertEqual(status, 200)
            test.assertNotEqual(hold["status"], "ACTIVE", hold)
            test.assertNotEqual(hold["status"], "SOLD", hold)


class ContentionTest(unittest.TestCase):
    def test_200_buyers_race_for_50_seats(self):
        s = target()
        try:
            event = s.create_event([{"name": "R", "tier": "std", "rows": 5, "seats_per_row": 10}])
            orders = race(s, event, 200, [GOOD_CARD] * 9 + [DECLINED_CARD])
            check_invariants(self, s, event, orders, 50)
            self.assertTrue(any(o["status"] == "CANCELLED" for _, o in orders))
        finally:
            s.close()


class CrashTest(unittest.TestCase):
    def test_kill9_mid_saga_then_restart_finishes_every_order(self):
        s = target(SEATFLOW_PAYMENT_GATEWAY_LATENCY="300ms")
        try:
            event = s.create_event([{"name": "K", "tier": "std", "rows": 4, "seats_per_row": 10}])
            placed = []
            for n in range(40):
                token = s.session()
                status, hold = s.hold(token, event, [f"K-{n // 10 + 1}-{n % 10 + 1}"])
                self.assertEqual(status, 201, hold)
                card = DECLINED_CARD if n % 5 == 0 else GOOD_CARD
                status, order = s.order(token, hold["id"], card, f"crash-{n}")
                self.assertEqual(status, 202, order)
                placed.append((token, order["id"]))
            token, last = placed[-1]
            status, order = s.request("GET", f"/api/orders/{last}", token=token)
            self.assertNotIn(order["status"], TERMINAL, "the kill must land mid-saga")
            s.kill9()
            s.start()
            orders = [(token, s.wait_terminal(token, oid, timeout=60)) for token, oid in placed]
            completed = sum(1 for _, o in orders if o["status"] == "COMPLETED")
            self.assertEqual(completed, 32)
            check_invariants(self, s, event, orders, 32)
        finally:
            s.close()


class ClusterTestCase(unittest.TestCase):
    """A scenario of the distributed mode only: replicas, Kafka, Prometheus."""

    def setUp(self):
        if MODE != "distributed":
            self.skipTest("needs the cluster (distributed mode)")

    def run_during(self, server, event, buyers, disturb, terminal_timeout=60):
        """Races `buyers` for the event's seats while `disturb()` runs beside them."""
        done = []

        def run():
            done.append(race(server, event, buyers, [GOOD_CARD] * 4 + [DECLINED_CARD],
                             terminal_timeout))

        racer = threading.Thread(target=run)
        racer.start()
        disturb()
        racer.join()
        self.assertTrue(done, "the race raised")
        return done[0]


class ReplicaCrashTest(ClusterTestCase):
    def test_kill9_one_replica_of_each_service_during_a_200_buyer_run(self):
        # Short leases and holds, so that the dead replicas' work is taken
        # over, and holds whose answer was lost with a replica are freed, well
        # within the run.
        s = Cluster(SEATFLOW_SAGA_LEASE="3s", SEATFLOW_OUTBOX_LEASE="3s",
                    SEATFLOW_RESERVATION_HOLD_TTL="10s", SEATFLOW_RESERVATION_SWEEP_INTERVAL="500ms",
                    SEATFLOW_PAYMENT_GATEWAY_LATENCY="20ms")
        try:
            event = s.create_event([{"name": "X", "tier": "std", "rows": 5, "seats_per_row": 10}])

            def disturb():
                time.sleep(2)
                s.cluster("kill", "reservation-1", "payment-2", "order-1")
                time.sleep(3)
                s.cluster("start", "reservation-1", "payment-2", "order-1",
                          *[f"{k}={v}" for k, v in s.settings.items()])

            orders = self.run_during(s, event, 200, disturb)
            check_invariants(self, s, event, orders, 50)
        finally:
            s.close()


class KafkaOutageTest(ClusterTestCase):
    def test_kafka_stopped_for_20_seconds_loses_nothing(self):
        s = Cluster()
        event = s.create_event([{"name": "Y", "tier": "std", "rows": 4, "seats_per_row": 10}])

        def disturb():
            time.sleep(1)
            s.cluster("stop", "kafka")
            time.sleep(20)
            s.cluster("start", "kafka")

        # An order placed as Kafka stops waits out the outage, the broker's
        # shutdown and start (a JVM each) and its consumer groups' recovery:
        # on a slow machine together well over a minute. Nothing may be lost,
        # however long that takes.
        orders = self.run_during(s, event, 100, disturb, terminal_timeout=180)
        check_invariants(self, s, event, orders, 40)
        self.assertTrue(any(o["status"] == "COMPLETED" for _, o in orders))


class PrometheusTest(ClusterTestCase):
    def test_every_instance_is_scraped_and_metrics_answer(self):
        s = Cluster()
        s.session()  # traffic to count
        url = urllib.parse.urlparse(s.values["SEATFLOW_CLUSTER_PROMETHEUS_URL"])
        replicas = 3 * int(s.values["REPLICAS"])

        def query(expr):
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            conn.request("GET", "/api/v1/query?query=" + urllib.parse.quote(expr))
            response = conn.getresponse()
            body = json.loads(response.read())
            conn.close()
            self.assertEqual(body["status"], "success", body)
            return body["data"]["result"]

        deadline = time.time() + 60
        while True:
            up = query('up{job="seatflow"} == 1')
            requests = query('sum by (service) (seatflow_http_requests_total)')
            if len(up) == replicas and {r["metric"]["service"] for r in requests} >= {
                    "reservation", "payment", "order"}:
                break
            if time.time() > deadline:
                self.fail(f"{len(up)} of {replicas} instances up; requests by service: {requests}")
            time.sleep(1)
        self.assertEqual({r["metric"]["replica"] for r in up},
                         {f"{svc}-{i}" for svc in ("reservation", "payment", "order")
                          for i in range(1, replicas // 3 + 1)})


class TraceTest(unittest.TestCase):
    """One purchase is one trace, read back from a real Jaeger."""

    def test_one_trace_per_purchase(self):
        s, query = self.start_server()
        try:
            event = s.demo_event()
            stream = SseReader(s, f"/api/events/{event}/seats/stream")
            token = s.session()
            status, hold = s.hold(token, event, ["D-1-1"])
            self.assertEqual(status, 201, hold)
            status, placed = s.order(token, hold["id"], GOOD_CARD, "trace-1")
            self.assertEqual(status, 202, placed)
            order = s.wait_terminal(token, placed["id"])
            self.assertEqual(order["status"], "COMPLETED")
            _, sold = stream.wait_for(lambda t, d: d["state"] == "SOLD" and "D-1-1" in d["seats"])
            self.assertEqual(sold["trace_id"], order["trace_id"])
            stream.close()
        finally:
            s.stop()  # flushes the exporter
        spans, processes = self.read_trace(query, order["trace_id"])
        by_id = {sp["spanID"]: sp for sp in spans}
        roots = [sp for sp in spans if not sp.get("references")]
        self.assertEqual(len(roots), 1, [sp["operationName"] for sp in roots])
        self.assertEqual(roots[0]["operationName"], "POST /api/orders")
        for sp in spans:
            for ref in sp.get("references", []):
                self.assertIn(ref["spanID"], by_id, f"parent of {sp['operationName']} missing")

        def tags(sp):
            return {t["key"]: t["value"] for t in sp.get("tags", [])}

        kinds = {}
        for sp in spans:
            kinds.setdefault(sp["operationName"], set()).add(tags(sp).get("span.kind"))
        names = set(kinds)
        expected = {
            "POST /api/orders": "server",
            "GET": "client",  # the hold check
            "GET /internal/holds/{hold_id}": "server",
            "saga authorize": None,
            "POST /internal/payments/authorize": "server",
            "create order.events": "producer",
            "send order.events": "producer",
            "process order.events": "consumer",
            "create reservation.events": "producer",
            "process reservation.events": "consumer",
            "create seat.changes": "producer",
            "process seat.changes": "consumer",
            "sse push seat.changes": "producer",
            "sse push order.events": "producer",
        }
        for name, kind in expected.items():
            self.assertIn(name, names, sorted(names))
            if kind:
                self.assertIn(kind, kinds[name], name)
        namespaces = {tags(sp).get("db.namespace") for sp in spans} - {None}
        self.assertEqual(namespaces, {"reservation", "payment", "order"})
        if MODE == "distributed":
            # One trace across the processes: each service's spans come from
            # its own replicas.
            services = {processes[sp["processID"]]["serviceName"] for sp in spans}
            self.assertEqual(services,
                             {"seatflow-reservation", "seatflow-payment", "seatflow-order"})
            self.assertEqual(processes[roots[0]["processID"]]["serviceName"], "seatflow-order")

    def test_one_trace_per_refund(self):
        """The refund continues the trace of the request that asked for it
        (its `traceparent`), through the saga, payment, the outbox, the
        consumers and the SSE pushes."""
        s, query = self.start_server()
        trace_id = uuid.uuid4().hex
        try:
            event = s.demo_event()
            token = s.session()
            status, hold = s.hold(token, event, ["D-1-2"])
            self.assertEqual(status, 201, hold)
            placed = s.buy(token, hold["id"], GOOD_CARD, "trace-refund-1")
            self.assertEqual(placed["status"], "COMPLETED")
            stream = SseReader(s, f"/api/events/{event}/seats/stream")
            status, body = s.request(
                "POST", f"/api/orders/{placed['id']}/refund", token=token,
                headers={"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"})
            self.assertEqual(status, 202, body)
            self.assertEqual(s.wait_terminal(token, placed["id"])["status"], "REFUNDED")
            _, back = stream.wait_for(
                lambda t, d: d["state"] == "AVAILABLE" and "D-1-2" in d["seats"])
            self.assertEqual(back["trace_id"], trace_id)
            stream.close()
        finally:
            s.stop()
        spans, _ = self.read_trace(query, trace_id,
                                   last=("sse push order.events", "sse push seat.changes"),
                                   callers=1)
        ids = {sp["spanID"] for sp in spans}
        # The caller's span is the only parent not in the trace.
        outside = [sp["operationName"] for sp in spans
                   if any(ref["spanID"] not in ids for ref in sp.get("references", []))]
        self.assertEqual(outside, ["POST /api/orders/{order_id}/refund"])
        names = {sp["operationName"] for sp in spans}
        for name in ("POST /internal/holds/{hold_id}/tickets/void", "saga refund",
                     "POST /internal/payments/refund", "send order.events",
                     "process order.events", "create seat.changes", "process seat.changes"):
            self.assertIn(name, names, sorted(names))

    def start_server(self):
        """A server exporting its spans to a real Jaeger, and that Jaeger's
        query URL."""
        if MODE == "distributed":
            s = Cluster()  # its services export to the cluster's Jaeger
            return s, s.values["SEATFLOW_CLUSTER_JAEGER_QUERY_URL"]
        otlp = os.environ.get("SEATFLOW_TEST_JAEGER_OTLP_URL")
        query = os.environ.get("SEATFLOW_TEST_JAEGER_QUERY_URL")
        self.assertTrue(otlp and query, "SEATFLOW_TEST_JAEGER_OTLP_URL and _QUERY_URL are needed")
        return Server(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=otlp, OTEL_BSP_SCHEDULE_DELAY="200"), query

    def read_trace(self, query, trace_id,
                   last=("sse push order.events", "process reservation.events",
                         "sse push seat.changes"), callers=0):
        """The trace's spans and processes. Each process exports its spans
        on its own schedule (six of them, distributed): this waits until the
        `last` spans are there and every parent a span names has arrived too
        (but for `callers` parents outside Seatflow), or the deadline; the
        caller's assertions then say what is missing."""
        url = urllib.parse.urlparse(query)
        deadline = time.time() + 30
        spans = []
        found = None
        while time.time() < deadline:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            conn.request("GET", f"/api/traces/{trace_id}")
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200:
                data = json.loads(body).get("data") or []
                spans = data[0]["spans"] if data else []
                names = {sp["operationName"] for sp in spans}
                if all(name in names for name in last):
                    found = (spans, data[0]["processes"])
                    ids = {sp["spanID"] for sp in spans}
                    missing = {ref["spanID"] for sp in spans for ref in sp.get("references", [])
                               if ref["spanID"] not in ids}
                    if len(missing) <= callers:
                        return found
            time.sleep(0.5)
        if found:
            return found
        self.fail(f"trace {trace_id} incomplete in Jaeger: {sorted({sp['operationName'] for sp in spans})}")


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv[1])
    MODE = sys.argv[2]
    if MODE not in ("embedded", "distributed"):
        sys.exit(f"usage: {sys.argv[0]} BINARY embedded|distributed [unittest arguments]")
    program = unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2, exit=False)
    if not program.result.wasSuccessful() and MODE == "distributed":
        # What the services said: the cluster and its logs go when the run ends.
        print("\nWarnings and errors in the services' logs (the last 60):", file=sys.stderr)
        print(Cluster().server_log() or "(none)", file=sys.stderr)
    sys.exit(not program.result.wasSuccessful())
