"""A placeholder for a subcommand a later issue builds: it says so in --help and exits non-zero."""

from __future__ import annotations

from fxtrue.errors import FxtrueError


def register_pending(sub, name: str, help_text: str, issue: int) -> None:
    p = sub.add_parser(name, help=f"{help_text} [not built yet: issue {issue}]",
                       description=f"{help_text}.\n\nNot built yet: tracked by issue {issue}.")

    def run(args, settings) -> int:
        raise FxtrueError(f"`fxtrue {name}` is not built yet (issue {issue})",
                          hint="see the README for what works today")

    p.set_defaults(func=run)
