"""Generated credentials kept in the state dir: the one way to write a secret file (owner only, never briefly
wider) and to get or create a login. Used by everything that generates one: the Cassandra component roles, the
Kafka users of the SASL option and the dashboard's local login."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import tomllib
from pathlib import Path
from typing import Iterator

PASSWORD_BYTES = 24  # secrets.token_urlsafe: 32 characters


def write_private(path: Path, text: str) -> None:
    """Write a secret file readable by its owner only (0600, in a 0700 folder), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read(path: Path) -> dict[str, str]:
    return tomllib.loads(path.read_text())


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (created 0700): concurrent processes (parallel inits, test sessions) then agree on
    the passwords they generate there."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def generated_login(path: Path, username: str, *extra_passwords: str) -> dict[str, str]:
    """The login kept in `path`, generated on first use: `username`, a random `password` and one random value
    per name in `extra_passwords`. Call it under `locked(path.parent)` when other processes may race."""
    if not path.exists():
        values = {"username": username, "password": secrets.token_urlsafe(PASSWORD_BYTES),
                  **{name: secrets.token_urlsafe(PASSWORD_BYTES) for name in extra_passwords}}
        write_private(path, "".join(f'{k} = "{v}"\n' for k, v in values.items()))
    return read(path)
