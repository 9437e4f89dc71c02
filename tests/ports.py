"""Free loopback ports for throw-away services started by tests.

Ports are drawn below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`, 32768-60999 by default):
a port found free there can be taken a moment later by any outgoing connection (a Spark or CQL client), which
is exactly how a JVM service we start afterwards loses its bind. Below that range only listeners compete.
"""

from __future__ import annotations

import random
import socket

_LOW, _HIGH = 20000, 32000
_handed_out: set[int] = set()


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that is free now, outside the ephemeral range, never handed out twice per run."""
    rng = random.SystemRandom()
    for _ in range(500):
        port = rng.randrange(_LOW, _HIGH)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port found in {_LOW}-{_HIGH} on 127.0.0.1 after 500 tries")
