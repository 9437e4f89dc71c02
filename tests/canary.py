"""Canary secrets for leak tests: random per run, so the repository holds nothing shaped like a real key."""

from __future__ import annotations

import secrets


def canary(label: str = "canary") -> str:
    return f"{label}-{secrets.token_hex(12)}"
