"""Build the corpus inputs that are too big (or too dangerous) to commit: called by the tests at run time."""

from __future__ import annotations

import os
import secrets
import struct
import zipfile
from pathlib import Path

GOOD = b"EUR/USD,20261102 00:00:00.959,1.08601,1.08605\n"
GOOD2 = b"USD/JPY,20261102 00:00:01.120,151.234,151.241\n"
_FIXED_TIME = (2026, 11, 2, 0, 0, 0)


def huge_lines(d: Path) -> Path:
    p = d / "h04_huge_lines.csv"
    with open(p, "wb") as fh:
        fh.write(GOOD)
        fh.write(b"EUR/USD,20261102 00:00:01.000," + b"1" * 8_000_000 + b",1.08605\n")
        fh.write(b"x" * 8_000_000 + b"\n")
    return p


def zip_bomb(d: Path, size: int = 200 * 1024**2) -> Path:
    """200 MB of zeros deflated to about 200 KB (ratio ~1000:1)."""
    p = d / "EURUSD-2026-11.zip"
    chunk = b"0" * (4 * 1024**2)
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        info = zipfile.ZipInfo("EURUSD-2026-11.csv", _FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            for _ in range(size // len(chunk)):
                fh.write(chunk)
    return p


def oversized_zip(d: Path, claimed: int = 4_000_000_000) -> Path:
    """A stored member whose central-directory entry claims `claimed` bytes (ratio 1: only the size cap can tell)."""
    p = d / "GBPUSD-2026-11.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo("GBPUSD-2026-11.csv", _FIXED_TIME), GOOD * 10)
    data = bytearray(p.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 20:cd + 28] = struct.pack("<II", claimed, claimed)  # compressed size, uncompressed size
    p.write_bytes(bytes(data))
    return p


def path_traversal_zip(d: Path) -> Path:
    p = d / "EURUSD-2026-12.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("../../evil.csv", _FIXED_TIME), GOOD + GOOD2, compress_type=zipfile.ZIP_DEFLATED)
    return p


def many_members_zip(d: Path, members: int = 20_000, each: int = 120_000) -> Path:
    """Many small members (each under the ratio floor) whose declared sizes sum over the 2 GiB cap.

    Built with one stored member repeated by patching sizes would be fragile; instead each member is a real
    deflated run of zeros (~120 bytes compressed), so the archive stays a few MB on disk.
    """
    p = d / "AUDUSD-2026-11.zip"
    import zlib
    payload = b"0" * each
    comp = zlib.compressobj(1, zlib.DEFLATED, -15)
    raw = comp.compress(payload) + comp.flush()
    crc = zlib.crc32(payload)
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(members):
            info = zipfile.ZipInfo(f"part-{i:05d}.csv", _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            # writestr would compress 2.4 GB; write the precomputed deflate stream through the raw API.
            info.file_size, info.compress_size, info.CRC = each, len(raw), crc
            zf._writecheck(info)  # noqa: SLF001 - stdlib has no public raw-member writer
            info.header_offset = zf.fp.tell()
            zf.fp.write(info.FileHeader(False))
            zf.fp.write(raw)
            zf.filelist.append(info)
            zf.NameToInfo[info.filename] = info
            zf.start_dir = zf.fp.tell()
            zf._didModify = True  # noqa: SLF001
    return p


def small_members_bomb(d: Path, members: int = 60, each: int = 1_000_000) -> Path:
    """Members each just under the per-member ratio floor (1 MiB) whose sum is a ~1000:1 bomb."""
    p = d / "NZDUSD-2026-11.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(members):
            zf.writestr(zipfile.ZipInfo(f"part-{i:03d}.csv", _FIXED_TIME), b"0" * each,
                        compress_type=zipfile.ZIP_DEFLATED)
    return p


def many_small_members_zip(d: Path, members: int = 1500) -> Path:
    """More members than a history zip may hold, each a valid one-line CSV (sizes and ratios all harmless)."""
    p = d / "USDCAD-2026-11.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(members):
            zf.writestr(zipfile.ZipInfo(f"part-{i:04d}.csv", _FIXED_TIME), GOOD)
    return p


def all_bad_rows(d: Path, rows: int = 100_000) -> Path:
    """A file of nothing but bad rows: every one is counted, and memory stays bounded while reading it."""
    p = d / "h27_all_bad_rows.csv"
    p.write_bytes(b"EUR/USD;20261102 00:00:00.959;1.08601;1.08605\n" * rows)
    return p


def huge_message() -> bytes:
    return (b'{"v":1,"pair":"' + b"A" * 900_000 + b'","ts":1764000000000,"bid":1.08601,"ask":1.08605,'
            b'"source":"sim","received_at":1764000000001}')


def deep_nesting() -> bytes:
    return b"[" * 100_000 + b"]" * 100_000


def huge_integers() -> bytes:
    return (b'{"v":1,"pair":"EUR/USD","ts":1764000000000,"bid":' + b"9" * 5000 + b',"ask":1.08605,'
            b'"source":"sim","received_at":1764000000001}')


def huge_http_body() -> bytes:
    return b"EUR/USD,1764000000959,1.08," + b"9" * 5_000_000 + b",1.08,605,1.08700,1.08500,1.08650\n"


def hostile_html_open_rows() -> bytes:
    """1 MB of `<tr>` never closed: quadratic for a backtracking `<tr[^>]*>(.*?)</tr>` regex (each start scans
    to the end)."""
    return b"<tr>" * 250_000


def hostile_html_open_cells() -> bytes:
    """One row of 200,000 cells that are never closed: quadratic for `<td[^>]*>(.*?)</td>`."""
    return b"<tr>" + b"<td>x" * 200_000 + b"</tr>"


FILE_GENERATORS = {"huge_lines": huge_lines, "zip_bomb": zip_bomb, "oversized_zip": oversized_zip,
                   "path_traversal_zip": path_traversal_zip, "many_members_zip": many_members_zip,
                   "small_members_bomb": small_members_bomb, "many_small_members_zip": many_small_members_zip,
                   "all_bad_rows": all_bad_rows}
BYTES_GENERATORS = {"huge_message": huge_message, "deep_nesting": deep_nesting, "huge_integers": huge_integers,
                    "huge_http_body": huge_http_body, "hostile_html_open_rows": hostile_html_open_rows,
                    "hostile_html_open_cells": hostile_html_open_cells}


# -- Worlds for the inline-input components: the files and links the inputs point at ----------------------------

def backfill_world(tmp: Path) -> dict[str, str]:
    """An input root holding one history file, a link to a file outside and a link to a folder outside; a
    secret file outside. Returns the placeholders the `backfill_input` entries use ({root}, {outside}) and the
    secret."""
    root, outside = tmp / "roots" / "inbox", tmp / "outside"
    root.mkdir(parents=True)
    outside.mkdir()
    secret = secrets.token_hex(12)  # random per run: the repository holds nothing shaped like a key
    (outside / "secret.csv").write_text(f"api_secret_key={secret}\n")
    (root / "good.csv").write_text("EUR/USD,20251103 09:00:00.000,1.08601,1.08605\n")
    (root / "link_out.csv").symlink_to(outside / "secret.csv")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    return {"root": str(root), "outside": str(outside), "secret": secret}


def docs_world(tmp: Path) -> Path:
    """A Data Docs folder: index.html, sub/page.html, a link to a file outside, a link to a folder outside and a
    FIFO; a secret file outside."""
    root, outside = tmp / "docs", tmp / "state"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "credentials.toml").write_text(f'password = "{secrets.token_hex(12)}"\n')
    (root / "index.html").write_text("<html>docs</html>")
    (root / "sub" / "page.html").write_text("<html>page</html>")
    (root / "leak.html").symlink_to(outside / "credentials.toml")
    (root / "statelink").symlink_to(outside, target_is_directory=True)
    os.mkfifo(root / "fifo")
    return root
