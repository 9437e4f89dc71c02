"""What fx_backfill may read, and what of it may reach a log.

`resolve_inputs`: the files a backfill request names (paths, globs or folders), each proven to lie inside one of
the configured input roots (settings airflow.backfill_input_roots) before anything is read: absolute paths
only, no `..`, globs only below a root, and every file's real path (symlinks followed) inside a root. S3 is
refused with what to do instead. Run by the fx_backfill task before it starts Spark and again by
`fxtrue backfill --confine` right before reading.

`sample_line`: the one shape in which a rejected row of an input file is shown (task log, report, result file):
only fields that look like TrueFX fields (pair, timestamp, number) are kept, anything else becomes `<N chars>`,
the row is capped and passed through fxtrue.errors.redact. A credential line in an input file shows as
`<40 chars>`, never as text.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Sequence

from fxtrue.errors import FxtrueError, redact

ROOTS_SETTING = "FXTRUE_AIRFLOW_BACKFILL_INPUT_ROOTS"
S3_SCHEMES = ("s3://", "s3a://", "s3n://")
S3_HINT = ("fx_backfill does not read S3: copy the files into an input root on the Airflow worker first "
           "(e.g. `aws s3 sync s3://bucket/prefix /data/truefx/incoming`), then trigger with "
           "files=[\"/data/truefx/incoming\"]")
_GLOB_CHARS = re.compile(r"[*?\[]")


class InputRefused(FxtrueError):
    """A backfill input outside the configured roots (or not a local file): nothing was read."""


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def input_roots(configured: Sequence[str]) -> list[Path]:
    """The configured roots, checked (absolute local folders) and resolved; refuses an empty list."""
    if not configured:
        raise InputRefused("fx_backfill has no input roots configured, so it reads nothing",
                           hint=f"set {ROOTS_SETTING} (or airflow.backfill_input_roots) to the local folders "
                                "that hold TrueFX history files, e.g. /data/truefx")
    roots = []
    for root in configured:
        if root.lower().startswith(S3_SCHEMES):
            raise InputRefused(f"input root {root!r} is on S3", hint=S3_HINT)
        if not os.path.isabs(root):
            raise InputRefused(f"input root {root!r} is not an absolute path",
                               hint=f"list absolute folders in {ROOTS_SETTING}")
        roots.append(_real(root))
    return roots


def _check_lexical(entry: str, configured: Sequence[str], real_roots: Sequence[Path], where: str) -> None:
    """Refuse before touching the file system: S3, relative paths, `..`, or a path not below any root."""
    if not entry.strip():
        raise InputRefused(f"{where}: empty path", hint="give absolute paths inside " + ", ".join(configured))
    if entry.lower().startswith(S3_SCHEMES):
        raise InputRefused(f"{where}: {entry!r} is on S3", hint=S3_HINT)
    if not os.path.isabs(entry):
        raise InputRefused(f"{where}: {entry!r} is not an absolute path",
                           hint="give absolute paths inside the input roots: " + ", ".join(configured))
    if ".." in Path(entry).parts:
        raise InputRefused(f"{where}: {entry!r} contains '..'",
                           hint="give the path without '..', inside the input roots: " + ", ".join(configured))
    literal = Path(os.path.normpath(entry))
    lexical_roots = [Path(os.path.normpath(r)) for r in configured]
    if not (_inside(literal, lexical_roots) or _inside(literal, real_roots)):
        raise InputRefused(f"{where}: {entry!r} is outside the input roots ({', '.join(configured)})",
                           hint=f"copy the files into an input root, or add its folder to {ROOTS_SETTING}")


def _check_real(path: Path, entry: str, configured: Sequence[str], real_roots: Sequence[Path], where: str) -> Path:
    real = _real(path)
    if not _inside(real, real_roots):
        raise InputRefused(f"{where}: {str(path)!r} resolves to {str(real)!r}, outside the input roots "
                           f"({', '.join(configured)}) (a symlink out?)",
                           hint="copy the file itself into an input root instead of linking to it")
    return real


def resolve_inputs(requested: Sequence[str], configured: Sequence[str]) -> list[Path]:
    """The real paths of the history files `requested` names, all inside the roots; else InputRefused.

    Folders yield their *.csv / *.zip files (fxtrue.history.expand_paths), globs their matches; order is kept,
    duplicates dropped. Every entry is checked lexically before any file system access, and every file again
    by its real path, so a symlink out of a root is refused.
    """
    from fxtrue.history import expand_paths

    real_roots = input_roots(configured)
    if not requested:
        raise InputRefused("fx_backfill got no files", hint="trigger with params.files, e.g. [\"/data/truefx/*.zip\"]")
    out: list[Path] = []
    for i, entry in enumerate(requested):
        where = f"files[{i}]"
        entry = str(entry)
        if _GLOB_CHARS.search(entry):
            parts = entry.split("/")
            first_glob = next(n for n, part in enumerate(parts) if _GLOB_CHARS.search(part))
            literal = "/".join(parts[:first_glob]) or "/"  # the folder the pattern lists: checked first
            _check_lexical(literal, configured, real_roots, where)
            _check_real(Path(literal), entry, configured, real_roots, where)
            matches = sorted(glob.glob(entry))
            if not matches:
                raise InputRefused(f"{where}: {entry!r} matches no file", hint="check the pattern and the folder")
        else:
            _check_lexical(entry, configured, real_roots, where)
            matches = [entry]
        for m in matches:
            path = Path(m)
            real = _check_real(path, entry, configured, real_roots, where)
            if real.is_dir():
                files = expand_paths([real])
            elif real.is_file():
                files = [real]
            else:
                raise InputRefused(f"{where}: {m!r} does not exist or is not a regular file",
                                   hint="give TrueFX CSV or zip files, or folders holding them, inside the roots")
            for f in files:
                rf = _check_real(f, entry, configured, real_roots, where)
                if not rf.is_file():
                    raise InputRefused(f"{where}: {str(f)!r} is not a regular file", hint="remove it from the folder")
                if rf not in out:
                    out.append(rf)
    return out


# -- samples of rejected rows ---------------------------------------------------------------------------------

SAMPLE_MAX_CHARS = 120  # of the row, before masking
SAMPLE_MAX_FIELDS = 6
SAMPLES_MAX = 5  # rows shown per run
_FIELD_SHAPES = (re.compile(r"[A-Z]{3}/[A-Z]{3}"),  # pair
                 re.compile(r"\d{8} \d\d:\d\d:\d\d(\.\d{1,3})?"),  # TrueFX timestamp
                 re.compile(r"\s*[-+]?\d{1,9}(\.\d{0,9})?\s*"))  # price (bounded: no long digit strings)


def _field(text: str) -> str:
    if text == "" or any(p.fullmatch(text) for p in _FIELD_SHAPES):
        return text
    return f"<{len(text)} chars>"


def sample_line(raw: str, *secrets: str) -> str:
    """A rejected row as it may be shown: TrueFX-shaped fields kept, anything else masked, capped, redacted."""
    row = raw[:SAMPLE_MAX_CHARS]
    fields = row.split(",")
    shown = [_field(f) for f in fields[:SAMPLE_MAX_FIELDS]]
    extra = len(fields) - SAMPLE_MAX_FIELDS
    text = ",".join(shown) + (f",…(+{extra} fields)" if extra > 0 else "")
    if len(raw) > SAMPLE_MAX_CHARS:
        text += f" …(+{len(raw) - SAMPLE_MAX_CHARS} chars)"
    return redact(text, *secrets)
