"""fx_backfill's input rule: only files inside the configured roots, refused before anything is read; and the
one shape in which a rejected row may reach a log (masked, capped, redacted)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from canary import canary

from fxtrue.orchestration.inputs import InputRefused, SAMPLE_MAX_CHARS, resolve_inputs, sample_line
from fxtrue.settings import load_settings

ROW = "EUR/USD,20261105 10:00:00.000,1.14601,1.14605\n"


@pytest.fixture
def tree(tmp_path) -> dict[str, Path]:
    root = tmp_path / "truefx"
    (root / "2026").mkdir(parents=True)
    (root / "2026" / "EURUSD-2026-11.csv").write_text(ROW)
    (root / "2026" / "USDJPY-2026-11.zip").write_bytes(b"PK")
    (root / "2026" / "labels.csv").write_text("x")
    outside = tmp_path / "secrets"
    outside.mkdir()
    (outside / "credentials.csv").write_text(f"api_secret_key={canary()}\n")
    return {"root": root, "outside": outside, "tmp": tmp_path}


def refused(files, roots, *words):
    with pytest.raises(InputRefused) as exc:
        resolve_inputs(files, roots)
    text = str(exc.value)
    for w in words:
        assert w in text, text
    assert "fix:" in text  # every refusal says what to do
    return text


def test_files_folders_and_globs_inside_a_root_are_accepted(tree):
    root = tree["root"]
    roots = [str(root)]
    csv, zp = root / "2026" / "EURUSD-2026-11.csv", root / "2026" / "USDJPY-2026-11.zip"
    assert resolve_inputs([str(csv)], roots) == [csv]
    assert resolve_inputs([str(root / "2026")], roots) == [csv, zp]  # labels*.csv left out, as expand_paths does
    assert resolve_inputs([str(root / "2026" / "*.zip"), str(zp), str(root / "2026/")], roots) == [zp, csv]


def test_a_root_reached_through_a_symlink_is_fine(tree):
    link = tree["tmp"] / "data"
    link.symlink_to(tree["root"])
    csv = tree["root"] / "2026" / "EURUSD-2026-11.csv"
    assert resolve_inputs([str(link / "2026" / "EURUSD-2026-11.csv")], [str(link)]) == [csv]


def test_absolute_path_elsewhere_is_refused(tree):
    refused([str(tree["outside"] / "credentials.csv")], [str(tree["root"])], "outside the input roots")
    refused(["/etc/passwd"], [str(tree["root"])], "'/etc/passwd' is outside the input roots")


def test_dot_dot_is_refused_even_when_it_lands_inside(tree):
    root = tree["root"]
    refused([f"{root}/../secrets/credentials.csv"], [str(root)], "contains '..'")
    refused([f"{root}/2026/../2026/EURUSD-2026-11.csv"], [str(root)], "contains '..'")


def test_a_symlink_out_of_a_root_is_refused(tree):
    root = tree["root"]
    (root / "2026" / "EURUSD-2026-12.csv").symlink_to(tree["outside"] / "credentials.csv")
    (root / "elsewhere").symlink_to(tree["outside"])
    refused([str(root / "2026" / "EURUSD-2026-12.csv")], [str(root)], "resolves to", "outside the input roots")
    refused([str(root / "2026")], [str(root)], "credentials.csv")  # a folder holding a link out
    refused([str(root / "2026" / "*.csv")], [str(root)], "outside the input roots")
    refused([str(root / "elsewhere" / "*.csv")], [str(root)], "outside the input roots")  # refused before listing


def test_globs_may_not_list_outside_a_root(tree):
    refused(["/etc/*"], [str(tree["root"])], "'/etc' is outside")
    refused([str(tree["tmp"]) + "/*/credentials.csv"], [str(tree["root"])], "outside the input roots")


def test_relative_empty_missing_and_s3_are_refused(tree):
    roots = [str(tree["root"])]
    refused(["truefx/2026"], roots, "not an absolute path")
    refused([""], roots, "empty path")
    refused([str(tree["root"] / "nope.csv")], roots, "does not exist")
    refused([str(tree["root"] / "*.nope")], roots, "matches no file")
    refused(["s3a://bucket/prefix/"], roots, "on S3", "aws s3 sync")
    refused([], roots, "no files")


def test_no_roots_means_nothing_is_read(tree):
    refused([str(tree["root"] / "2026")], [], "no input roots configured", "FXTRUE_AIRFLOW_BACKFILL_INPUT_ROOTS")
    refused([str(tree["root"])], ["relative/root"], "not an absolute path")
    refused([str(tree["root"])], ["s3://bucket/truefx"], "on S3")


def test_roots_come_from_one_setting():
    s = load_settings({"FXTRUE_AIRFLOW_BACKFILL_INPUT_ROOTS": "/data/truefx, /mnt/history"})
    assert s.airflow.backfill_input_roots == ("/data/truefx", "/mnt/history")
    assert load_settings({}).airflow.backfill_input_roots == ()


def test_samples_keep_truefx_fields_and_mask_any_other_text():
    assert sample_line("EUR/USD,20261105 10:00:00.000,bad,1.1") == "EUR/USD,20261105 10:00:00.000,<3 chars>,1.1"
    secret = f"api_secret_key={canary()}"
    assert sample_line(secret) == f"<{len(secret)} chars>"
    assert "hunter2" not in sample_line("EUR/USD,password: hunter2,1.1,1.2")
    assert "4111111111111111" not in sample_line("EUR/USD,20261105 10:00:00.000,4111111111111111,1.1")
    long = sample_line("1," * 500)
    assert len(long) < SAMPLE_MAX_CHARS and "+" in long
    assert "s3cr3t" not in sample_line("EUR/USD,1.1,1.2,s3cr3t", "s3cr3t")
    assert os.linesep not in sample_line("a\nb")


def test_child_output_reaches_the_task_log_redacted(tmp_path, capsys):
    from fxtrue.orchestration.tasks import run_child
    from fxtrue.settings import Settings

    s = Settings(state_dir=tmp_path).replace(truefx={"password": "canary-Pw1"})
    code, out = run_child(s, ["-c", "print('GET https://u:canary-Pw1@truefx.example/rates?p=canary-Pw1 failed')"],
                          what="probe")
    shown = capsys.readouterr().out
    assert code == 0 and "truefx.example" in shown
    assert "canary-Pw1" not in shown and "canary-Pw1" not in out
