"""The socket side: a threaded HTTP/1.1 server that turns bytes into Requests and Responses."""
from __future__ import annotations

import socket
import struct
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import urlsplit

from .app import JenkinsApp, Outcome
from .faults import FaultRule
from .wire import Request


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class JenkinsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    app: JenkinsApp  # set after binding: the app's root URL needs the bound port

    def __init__(self, address: tuple[str, int], server_header: str) -> None:
        self.server_header = server_header
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, JenkinsRequestHandler)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conn_lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients resetting keep-alive connections is normal; anything else is still reported."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Cut keep-alive connections so clients cannot keep talking to a stopped server."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class JenkinsRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: JenkinsHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def version_string(self) -> str:
        return self.server.server_header

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # silent: request lines could carry secrets in query strings

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            body += self.rfile.read(size)
            self.rfile.readline()

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Bad request body")
            return
        parts = urlsplit(self.path)
        request = Request(self.command.upper(), parts.path or "/", parts.query, self.headers, body,
                          self.client_address[0])
        self._write(self.server.app.handle(request), head=self.command.upper() == "HEAD")

    def _write(self, outcome: Outcome, head: bool) -> None:
        if outcome.canned is not None:
            self._write_canned(outcome.canned)
            return
        if outcome.response is None:
            self.close_connection = True
            if outcome.reset:
                # SO_LINGER 0 and close without shutdown: the peer gets an RST instead of a FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                return
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        response = outcome.response
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.stream is not None:
            self._write_stream(response.stream, head)
            return
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head and response.body:
            self.wfile.write(response.body)

    def _write_stream(self, stream: Iterator[bytes], head: bool) -> None:
        """A body of unknown length (a log read as it is sent): chunked, as a servlet without Content-Length."""
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if not head:
                for chunk in stream:
                    if chunk:
                        self.wfile.write(b"%X\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True  # the log vanished or the client left: cut the answer short
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _write_canned(self, rule: FaultRule) -> None:
        """A hostile answer: status, headers and body as given, huge or dripped; then close."""
        canned = rule.response
        assert canned is not None
        self.close_connection = True
        stopping = self.server.app.stopping
        head = f"HTTP/1.1 {canned.status} {status_phrase(canned.status)}\r\n".encode("latin-1")
        fields = "".join(f"{name}: {value}\r\n" for name, value in canned.headers)
        if canned.content_length:
            fields += f"Content-Length: {canned.size}\r\n"
        fields += "Connection: close\r\n\r\n"
        try:
            self.wfile.write(head)
            self._send(fields.encode("latin-1"), canned.drip if canned.drip_headers else 0.0, stopping)
            for _ in range(canned.repeat):
                if stopping.is_set():
                    return
                rule.sent += self._send(canned.body, canned.drip, stopping)
        except OSError:
            return  # the client stopped reading: what a hostile answer is for

    def _send(self, data: bytes, drip: float, stopping: threading.Event) -> int:
        if not drip:
            self.wfile.write(data)
            return len(data)
        for index in range(len(data)):
            if stopping.wait(drip):
                return index
            self.wfile.write(data[index:index + 1])
            self.wfile.flush()
        return len(data)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle
