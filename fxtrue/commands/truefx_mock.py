"""`fxtrue truefx-mock`: serve the TrueFX Web API protocol from the live simulator (not built yet: issue 3)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "truefx-mock", "serve the TrueFX Web API protocol from the live simulator", issue=3)
