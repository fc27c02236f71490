"""A Web Push service on a loopback port, for the scale-out suite.

It hands out browser-like subscriptions (a fresh P-256 key pair and auth secret each), and for
every message it checks the VAPID token as a push service does (RFC 8292: ES256 over the JWT,
`aud` is this receiver's origin with its port, `exp` within 24 hours, `sub` mailto: or https:),
decrypts the body itself (RFC 8291 keys, RFC 8188 `aes128gcm`, one record), and records the
notification id, the Topic and the arrival time. A subscription can be told to answer late
(`slow`) or never (`hang`, until the receiver stops).
"""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hkdf(salt: bytes, info: bytes, length: int, ikm: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt(ua_private: ec.EllipticCurvePrivateKey, auth: bytes, body: bytes) -> bytes:
    """RFC 8291 §3.4 keys, RFC 8188 header, a single record padded with 0x02 then zeros."""
    if len(body) < 21:
        raise ValueError("shorter than the aes128gcm header")
    salt = body[:16]
    (record_size,) = struct.unpack(">I", body[16:20])
    id_len = body[20]
    if id_len != 65:
        raise ValueError(f"key id of {id_len} bytes, not a P-256 point")
    as_public = body[21 : 21 + id_len]
    record = body[21 + id_len :]
    if record_size < 18 or len(record) > record_size or len(record) < 17:
        raise ValueError("bad record size")
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
    ecdh_secret = ua_private.exchange(ec.ECDH(), sender)
    ua_public = ua_private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    ikm = _hkdf(auth, b"WebPush: info\0" + ua_public + as_public, 32, ecdh_secret)
    cek = _hkdf(salt, b"Content-Encoding: aes128gcm\0", 16, ikm)
    nonce = _hkdf(salt, b"Content-Encoding: nonce\0", 12, ikm)
    plain = AESGCM(cek).decrypt(nonce, record, None).rstrip(b"\0")
    if not plain or plain[-1] != 0x02:
        raise ValueError("padding delimiter is not 0x02")
    return plain[:-1]


def verify_vapid(header: str, origin: str, now: float) -> dict:
    if not header.startswith("vapid "):
        raise ValueError("the scheme is not vapid")
    params = dict(p.strip().split("=", 1) for p in header[len("vapid ") :].split(","))
    jwt, key = params["t"], params["k"]
    head_b64, claims_b64, sig_b64 = jwt.split(".")
    head = json.loads(b64u_decode(head_b64))
    if head.get("alg") != "ES256" or head.get("typ") != "JWT":
        raise ValueError(f"unexpected JWT header {head}")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64u_decode(key))
    sig = b64u_decode(sig_b64)
    if len(sig) != 64:
        raise ValueError("not a raw ES256 signature")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise ValueError("the signature does not verify against k=") from error
    claims = json.loads(b64u_decode(claims_b64))
    if claims.get("aud") != origin:
        raise ValueError(f"aud {claims.get('aud')} is not {origin}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now or exp > now + 24 * 3600:
        raise ValueError(f"exp {exp} out of range")
    sub = claims.get("sub", "")
    if not (sub.startswith("mailto:") or sub.startswith("https:")):
        raise ValueError(f"sub {sub} is neither mailto: nor https:")
    return claims


@dataclass
class Subscriber:
    private: ec.EllipticCurvePrivateKey
    auth: bytes
    mode: str = "ok"  # ok | slow | hang
    delay: float = 0.0


@dataclass
class Arrival:
    at: float
    subscription: str
    notification: str | None
    topic: str | None
    error: str | None


@dataclass
class State:
    origin: str
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State  # set on the subclass

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        now = time.time()
        sub_id = self.path.rsplit("/", 1)[-1]
        state = self.state
        with state.lock:
            subscriber = state.subscribers.get(sub_id)
        if subscriber is None:
            return self._answer(404)
        error = notification = None
        status = 201
        try:
            verify_vapid(self.headers.get("Authorization", ""), state.origin, now)
        except Exception as problem:  # noqa: BLE001
            error, status = f"vapid: {problem}", 401
        if error is None:
            try:
                if self.headers.get("Content-Encoding") != "aes128gcm":
                    raise ValueError("Content-Encoding is not aes128gcm")
                payload = json.loads(decrypt(subscriber.private, subscriber.auth, body))
                notification = payload.get("id")
            except Exception as problem:  # noqa: BLE001
                error, status = f"payload: {problem}", 400
        with state.lock:
            state.arrivals.append(Arrival(now, sub_id, notification, self.headers.get("Topic"), error))
        if subscriber.mode == "hang":
            state.stopping.wait()
            return
        if subscriber.mode == "slow":
            time.sleep(subscriber.delay)
        self._answer(status)

    def _answer(self, status: int) -> None:
        body = json.dumps({"answer": status}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            # The sender gave up (a time-out) or died (kill -9): nobody left to answer.
            self.close_connection = True


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # Three instances open dozens of connections at once; socketserver's default backlog of 5
    # would drop their SYNs and turn them into connect time-outs.
    request_queue_size = 512

    def handle_error(self, request, client_address) -> None:
        pass  # connections cut by a killed or timed-out sender


class Receiver:
    def __init__(self, port: int) -> None:
        self.state = State(origin=f"http://127.0.0.1:{port}")
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = QuietServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return self.state.origin

    def subscribe(self) -> tuple[str, dict]:
        """A subscription id and the body for `POST /v1/push/subscriptions`."""
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        sub_id = uuid.uuid4().hex
        with self.state.lock:
            self.state.subscribers[sub_id] = Subscriber(private, auth)
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        body = {
            "endpoint": f"{self.origin}/push/{sub_id}",
            "keys": {"p256dh": b64u_encode(public), "auth": b64u_encode(auth)},
        }
        return sub_id, body

    def set_mode(self, sub_id: str, mode: str, delay: float = 0.0) -> None:
        with self.state.lock:
            self.state.subscribers[sub_id].mode = mode
            self.state.subscribers[sub_id].delay = delay

    def arrivals(self, sub_ids: set[str] | None = None) -> list[Arrival]:
        with self.state.lock:
            return [a for a in self.state.arrivals if sub_ids is None or a.subscription in sub_ids]

    def stop(self) -> None:
        self.state.stopping.set()
        self.server.shutdown()
        self.server.server_close()
