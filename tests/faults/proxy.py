"""A TCP proxy for fault tests: put it between a process and a server it needs (PostgreSQL, IMAP), then cut the line
or hold the server's answers, without touching the server itself (other tests share it).

    proxy = TcpProxy("127.0.0.1", 5432).start()      # point the process at 127.0.0.1:proxy.port
    proxy.hold_when(b'INSERT INTO "tickets_message"') # answers stop once a client sends this; proxy.held is set
    proxy.cut()                                       # every connection dropped, new ones closed at once
    proxy.restore()                                   # forwarding again
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Line:
    """One client connection and its connection to the server."""

    index: int
    client: socket.socket
    server: socket.socket
    answers_flow: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.answers_flow.set()  # let a held pump see the closed sockets and end
        for sock in (self.client, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.connections = 0  # accepted so far, also while cut
        self.held = threading.Event()  # set when a hold rule matched
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lines: set[_Line] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._hold: tuple[bytes, int | None] | None = None
        self._stopped = False

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def start(self) -> TcpProxy:
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        self._listener.close()

    # --- faults ------------------------------------------------------------------------------------
    def cut(self) -> None:
        """Drop every connection; new ones are accepted and closed at once (the server seems down)."""
        with self._lock:
            self._cut = True
            lines, self._lines = list(self._lines), set()
        for line in lines:
            line.close()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def hold_when(self, pattern: bytes, *, connection: int | None = None) -> None:
        """Once a client sends `pattern` (on the `connection`-th connection, counted from 1, if given), stop passing
        that connection's answers back: the client waits mid-conversation until release() or cut()."""
        with self._lock:
            self._hold = (pattern, connection)
            self.held.clear()

    def release(self) -> None:
        """Pass held answers on, and hold nothing from now on."""
        with self._lock:
            self._hold = None
            lines = list(self._lines)
        for line in lines:
            line.answers_flow.set()

    # --- forwarding --------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                index, cut = self.connections, self._cut
            if cut:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            line = _Line(index, client, server)
            line.answers_flow.set()
            with self._lock:
                self._lines.add(line)
            threading.Thread(target=self._pump_requests, args=(line,), daemon=True).start()
            threading.Thread(target=self._pump_answers, args=(line,), daemon=True).start()

    def _pump_requests(self, line: _Line) -> None:
        tail = b""
        while True:
            try:
                data = line.client.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                rule = self._hold
            if rule is not None and (rule[1] is None or rule[1] == line.index) and rule[0] in tail + data:
                line.answers_flow.clear()
                self.held.set()
            tail = data[-256:]
            try:
                line.server.sendall(data)
            except OSError:
                break
        self._drop(line)

    def _pump_answers(self, line: _Line) -> None:
        while True:
            try:
                data = line.server.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            line.answers_flow.wait()
            try:
                line.client.sendall(data)
            except OSError:
                break
        self._drop(line)

    def _drop(self, line: _Line) -> None:
        with self._lock:
            self._lines.discard(line)
        line.close()
