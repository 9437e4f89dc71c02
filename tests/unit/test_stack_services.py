"""Pure helpers of the local stack's service control (no JVM started here)."""

from __future__ import annotations

import base64
import importlib
import socket
import uuid

services = importlib.import_module("fxtrue.stack.services")  # the package also has a services() function


def test_cluster_id_is_16_bytes_urlsafe_and_never_reads_as_an_option(monkeypatch):
    leading_dash = uuid.UUID(bytes=bytes([0xF8]) + bytes(15))  # base64 of 0b111110... starts with '-'
    assert base64.urlsafe_b64encode(leading_dash.bytes).decode().startswith("-")
    normal = uuid.UUID(bytes=bytes(range(16)))
    draws = iter([leading_dash, leading_dash, normal])
    monkeypatch.setattr(services.uuid, "uuid4", lambda: next(draws))
    cid = services.new_cluster_id()
    assert not cid.startswith("-") and len(cid) == 22
    assert base64.urlsafe_b64decode(cid + "==") == normal.bytes


def test_wait_bindable_gives_up_while_a_listener_holds_the_port_and_succeeds_once_released():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert services.wait_bindable(port, 0.5) is False
    assert services.wait_bindable(port, 5.0) is True
