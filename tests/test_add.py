"""Analysts: adding studies safely (validation, duplicates, atomic and serialised writes), diff."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from explorer.cli import main
from explorer.data import validate_package
from explorer.data.entry import check_entry, normalise, template

from .conftest import DATA, ROOT

ENTRY = """
study:
  study_id: {sid}
  label: Testa 2024
  title: {title}
  authors: A Testa, B Prova
  journal: J Test
  year: 2024
  doi: 10.1000/{sid}
  design: rct
  blinding: double
  indication: radiculopathy
  risk_of_bias: not_assessed
  source_locator: abstract
  scope: in
  design_source: "abstract: 'randomized'"
arms:
  - arm_id: steroid
    arm_label: TF steroid
    therapy: epidural_steroid
    approach: transforaminal
    agent_class: corticosteroid
    guidance: {guidance}
    role: intervention
    source_locator: abstract
  - arm_id: la
    arm_label: TF lidocaine
    therapy: local_anaesthetic
    approach: transforaminal
    agent_class: local_anaesthetic
    guidance: fluoroscopy
    role: comparator
    comparator_kind: placebo_sham
    source_locator: abstract
outcomes:
  - arm_id: steroid
    domain: pain_leg
    instrument: nrs
    scale_min: 0
    scale_max: 10
    scale_basis: instrument
    higher_is_better: false
    unit: participants
    time_value: 4
    time_unit: week
    measure: final
    mean: 3.50
    sd: 2.1
    n: 40
    value_source: text
    locator: Table 2
"""


def entry_file(
    tmp_path: Path,
    sid: str = "testa2024",
    guidance: str = "fluoroscopy",
    title: str = "A hypothetical trial used only by the test suite",
) -> Path:
    p = tmp_path / f"{sid}.yaml"
    p.write_text(ENTRY.format(sid=sid, guidance=guidance, title=title), encoding="utf-8")
    return p


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.glob("*.csv"))}


def test_valid_entry_is_added_in_canonical_order(data_copy: Path, tmp_path: Path) -> None:
    before = snapshot(data_copy)
    assert main(["add", str(entry_file(tmp_path)), "--data", str(data_copy)]) == 0
    assert validate_package(data_copy) == []
    after = snapshot(data_copy)
    # only added lines: every old line is still there, in the same relative order
    for name in before:
        old, new = before[name].decode().splitlines(), after[name].decode().splitlines()
        it = iter(new)
        assert all(line in it for line in old), name
    rows = list(read_rows(data_copy / "outcomes.csv"))
    added = [r for r in rows if r["study_id"] == "testa2024"]
    assert added[0]["outcome_id"] == "testa2024_001" and added[0]["mean"] == "3.50"  # copied as typed


def test_invalid_entry_names_field_and_fix_and_writes_nothing(
    data_copy: Path, tmp_path: Path, capsys
) -> None:
    before = snapshot(data_copy)
    assert main(["add", str(entry_file(tmp_path, guidance="fluroscopy")), "--data", str(data_copy)]) == 1
    out = capsys.readouterr().out
    assert "arms[0].guidance: unknown guidance 'fluroscopy'; did you mean 'fluoroscopy'?" in out
    assert snapshot(data_copy) == before


def test_duplicates_are_caught(data_copy: Path, tmp_path: Path) -> None:
    existing = read_rows(DATA / "studies.csv")[0]
    entry = normalise(yaml.load(entry_file(tmp_path).read_text(), Loader=yaml.BaseLoader))
    entry["study"]["doi"] = existing["doi"] or "10.1000/x"
    entry["study"]["title"] = existing["title"] + "."
    problems = check_entry(entry, data_copy).problems
    assert any(p.startswith("study.doi:") and existing["study_id"] in p for p in problems)
    assert any(p.startswith("study.title: nearly identical") for p in problems)


def test_same_registration_offers_parent_link(data_copy: Path, tmp_path: Path) -> None:
    rows = list(read_rows(data_copy / "studies.csv"))
    reg = next(r for r in rows if r["registration"])
    entry = normalise(yaml.load(entry_file(tmp_path).read_text(), Loader=yaml.BaseLoader))
    entry["study"]["registration"] = reg["registration"]
    problems = check_entry(entry, data_copy).problems
    assert any("parent_id" in p and reg["study_id"] in p for p in problems)
    entry["study"]["parent_id"] = reg["parent_id"] or reg["study_id"]
    assert not any("registration" in p for p in check_entry(entry, data_copy).problems)


def test_bad_yaml_and_bad_shape(data_copy: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: [unclosed\n", encoding="utf-8")
    assert main(["add", str(bad), "--data", str(data_copy)]) == 1
    assert "not valid YAML at line" in capsys.readouterr().err
    bad.write_text("- just a list\n", encoding="utf-8")
    assert main(["add", str(bad), "--data", str(data_copy)]) == 1
    assert "expected a mapping" in capsys.readouterr().err


def test_template_round_trips() -> None:
    data = yaml.load(template(), Loader=yaml.BaseLoader)
    entry = normalise(data)
    assert set(entry) == {"study", "arms", "outcomes", "adverse_events"}
    assert "guidance" in entry["arms"][0]


CRASH = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from explorer.data import entry as e
    real = os.replace
    calls = []
    def crashing_replace(src, dst):
        calls.append(dst)
        if {when!r} == "before-journal" or (len(calls) == 3):  # journal, then 1st table, then crash
            os._exit(9)
        return real(src, dst)
    if {when!r} == "before-journal":
        real_fsync = os.fsync
        def crashing_fsync(fd):
            os._exit(9)
        os.fsync = crashing_fsync
    else:
        os.replace = crashing_replace
    e.add_entry(e.read_entry({entry!r}), Path({data!r}))
""")


@pytest.mark.parametrize("when", ["before-journal", "between-renames"])
def test_killed_mid_write_leaves_valid_files(data_copy: Path, tmp_path: Path, when: str) -> None:
    before = snapshot(data_copy)
    code = CRASH.format(root=str(ROOT), when=when, entry=str(entry_file(tmp_path)), data=str(data_copy))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 9, proc.stderr
    assert validate_package(data_copy) == []  # whatever the crash point, the tables are whole and consistent
    if when == "before-journal":
        assert snapshot(data_copy) == before
    # the next writer finishes or sweeps the interrupted commit, then adds its own entry
    assert (
        main(
            [
                "add",
                str(entry_file(tmp_path, "other2024", title="Another test-only trial")),
                "--data",
                str(data_copy),
            ]
        )
        == 0
    )
    assert validate_package(data_copy) == []
    assert not list(data_copy.glob(".explorer-tmp-*")) and not (data_copy / ".explorer-journal.json").exists()
    studies = {r["study_id"] for r in read_rows(data_copy / "studies.csv")}
    assert "other2024" in studies
    assert ("testa2024" in studies) == (when == "between-renames")  # rolled forward after the commit point


def test_two_concurrent_adds_both_land(data_copy: Path, tmp_path: Path) -> None:
    titles = ["Caudal injections in a first imaginary cohort", "Quite different words about sacroiliac pain"]
    files = [entry_file(tmp_path, f"para{i}2024", title=titles[i - 1]) for i in (1, 2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "explorer", "add", str(f), "--data", str(data_copy)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for f in files
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
    studies = {r["study_id"] for r in read_rows(data_copy / "studies.csv")}
    assert {"para12024", "para22024"} <= studies
    assert validate_package(data_copy) == []


def run_interactive(data: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "explorer", "add", "--interactive", "--data", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_interactive_add(data_copy: Path, tmp_path: Path) -> None:
    answers = [
        "inter2024",
        "Inter 2024",
        "An interactively entered test-only trial",
        "A Person",
        "J Test",
        "2024",
        "",
        "10.1000/inter",
        "",
        "",
        "",
        "rct",
        "double",
        "radiculopathy",
        "",
        "",
        "",
        "",
        "4",
        "",
        "",
        "abstract",
        "",  # study ... notes
        "",  # reference_url
        "in",  # scope
        "",  # scope_reason
        "abstract",  # design_source
        "",  # pilot
        "n",
    ]  # no arms
    proc = run_interactive(data_copy, "\n".join(answers) + "\n" + "n\n" * 3)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    studies = {r["study_id"]: r for r in read_rows(data_copy / "studies.csv")}
    assert studies["inter2024"]["risk_of_bias"] == "not_assessed"  # picked as choice number 4


def test_interactive_catches_typos_where_typed(data_copy: Path) -> None:
    proc = run_interactive(data_copy, "inter2024\nInter 2024\nT\nA\nJ\n2024\n\n10.1000/i\n\n\n\nRCT\n")
    assert "design unknown design 'RCT'; did you mean 'rct'?" in proc.stdout
    assert proc.returncode == 1 and "cancelled: nothing was written" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_diff_reports_added_study_and_moved_pool(tmp_path: Path, capsys) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DATA, repo / "data")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    assert main(["add", str(entry_file(tmp_path)), "--data", str(repo / "data")]) == 0
    # a second outcome row for the comparator makes a new contrast: the TF-steroid pool must move
    rows = list(read_rows(repo / "data" / "outcomes.csv"))
    new = dict(next(r for r in rows if r["outcome_id"] == "testa2024_001"))
    new.update(outcome_id="testa2024_002", arm_id="la", mean="4.90", sd="2.3", n="41")
    with open(repo / "data" / "outcomes.csv", "a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=list(new), lineterminator="\n").writerow(new)
    capsys.readouterr()
    assert main(["diff", "HEAD", "--data", str(repo / "data"), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "studies: 1 added, 0 removed" in out and "added testa2024" in out
    assert "| pain | epidural_steroid | short | placebo_sham |" in out  # local anaesthetic alone: placebo (Cochrane)
    assert main(["diff", "nosuchrev", "--data", str(repo / "data")]) == 1


def test_widget_form_validates_as_typed_and_adds(data_copy: Path) -> None:
    from explorer.dashboard.entry_form import EntryForm

    form = EntryForm(data_copy)
    assert form.add_button.disabled and "to fix" in form.problems.value
    values = yaml.load(
        ENTRY.format(sid="formy2024", guidance="fluroscopy", title="A form-entered test-only trial"),
        Loader=yaml.BaseLoader,
    )
    for k, v in values["study"].items():
        form.study.fields[k].value = v
    for i, arm in enumerate(values["arms"]):
        rec = form.sections["arms"][i] if i < len(form.sections["arms"]) else form.add_record("arms")
        for k, v in arm.items():
            rec.fields[k].value = v if k != "guidance" else "fluoroscopy"
    form.sections["arms"][0].fields["guidance"].value = "fluoroscopy"
    assert not form.revalidate(), form.problems.value
    form.study.fields["doi"].value = "https://doi.org/10.1/x"
    assert "malformed DOI" in form.problems.value and form.add_button.disabled
    form.study.fields["doi"].value = "10.1000/formy2024"
    form.add_button.click()
    assert "Added formy2024" in form.result.value
    assert validate_package(data_copy) == []
