"""Against DCMTK: every SR of the shared corpus gives the same content tree as ``dsrdump``
(compared as (depth, relationship, value type, concept, value) rows, not as text), and
``dsrdump`` / ``dsr2html`` read every SR we write without a warning."""

from __future__ import annotations

import pytest
from allkinds import all_kinds
from corpus import manifest
from dsrdump_tree import normalise, parse, rows_of
from peers import run_dcmtk

from dicomkit.errors import DicomError
from dicomkit.sr import _render as render
from dicomkit.sr import read

pytestmark = pytest.mark.interop

SR_FILES = [
    f for f in manifest() if " SR " in f" {f.sop} " or "Key Object" in f.sop or "Dose" in f.sop
]


def test_the_corpus_has_sr_files() -> None:
    assert any(f.rel == "dcmqi/sr-example/sr.dcm" for f in SR_FILES)


@pytest.mark.parametrize("cf", SR_FILES, ids=[f.rel for f in SR_FILES])
def test_same_tree_as_dsrdump(cf) -> None:  # type: ignore[no-untyped-def]
    proc = run_dcmtk("dsrdump", "+Pc", "+Pl", "+Pu", "-Ph", str(cf.path), check=False)
    if proc.returncode != 0:
        # DCMTK cannot read it (a damaged file): we must fail with a typed error or read it
        try:
            read(cf.path)
        except DicomError:
            return
        return
    theirs = normalise(parse(proc.stdout))
    doc = read(cf.path)
    assert theirs, proc.stdout[:500]
    assert normalise(rows_of(doc.root)) == theirs
    # and our text rendering carries the same tree
    assert normalise(parse(render.text(doc, header=False))) == theirs


def _no_warnings(proc) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == 0, proc.stderr
    noise = [ln for ln in proc.stderr.splitlines() if ln.startswith(("W:", "E:", "F:"))]
    assert noise == []


def test_dcmtk_reads_what_we_write(tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = all_kinds()
    path = tmp_path / "all.dcm"
    doc.save(path)
    proc = run_dcmtk("dsrdump", "+Pc", "+Pl", "+Pu", "-Ph", str(path), check=False)
    _no_warnings(proc)
    assert normalise(parse(proc.stdout)) == normalise(rows_of(doc.root))
    assert normalise(parse(render.text(doc))) == normalise(rows_of(doc.root))
    _no_warnings(run_dcmtk("dsr2html", str(path), str(tmp_path / "all.html"), check=False))
    assert "Diagnostic Imaging Report" in (tmp_path / "all.html").read_text(errors="replace")


@pytest.mark.parametrize("cf", SR_FILES, ids=[f.rel for f in SR_FILES])
def test_corpus_round_trip_is_read_by_dcmtk(cf, tmp_path) -> None:  # type: ignore[no-untyped-def]
    try:
        doc = read(cf.path)
    except DicomError:
        pytest.skip("not readable as SR (checked in test_same_tree_as_dsrdump)")
    out = tmp_path / "rt.dcm"
    doc.save(out)
    again = read(out)
    assert again.root == doc.root
    proc = run_dcmtk("dsrdump", "+Pc", "+Pl", "+Pu", "-Ph", str(out), check=False)
    _no_warnings(proc)
    assert normalise(parse(proc.stdout)) == normalise(rows_of(doc.root))


def test_html_escapes_values() -> None:
    page = render.html(all_kinds())
    assert "a &lt;b&gt;mass&lt;/b&gt; &amp; more<br>second line" in page
    assert "<b>mass</b>" not in page


def test_html_runs_continuous_text_together() -> None:
    from corpus import CORPUS

    page = render.html(read(CORPUS / "dcm4che" / "report_dfl"))
    assert "referred by Fukuda^^^Dr. was also seen by Mason^^^Dr. at the Redlands Clinic" in page
