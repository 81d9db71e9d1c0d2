#!/usr/bin/env python3
"""SR content tree: read a ~3,000-item Structured Report and render it as text, vs highdicom's
parsing of the same file and DCMTK's whole ``dsrdump`` run. Issue #16 (Speed).

    python benchmarks/bench_sr.py                 # median of --repeat runs (default 7)
    python benchmarks/bench_sr.py --groups 300    # a bigger report

The report is a TID 1500 Measurement Report built with dicomkit's builder: an image library
of 50 images and ``--groups`` planar ROI measurement groups (tracking identifier and UID,
finding, finding site, a polyline region on an image, four measurements each with a
derivation) -- 15 content items a group, ~3,000 items with the default 200 groups.

  dicomkit   in-process: dicomkit.read(file) + sr.read (the content tree) + render.text
  highdicom  in-process: pydicom.dcmread(file) + highdicom.sr.Comprehensive3DSR.from_dataset
             (its parse of the content tree into its content item classes; no rendering)
  dcmtk      /usr/bin/dsrdump FILE > /dev/null, the whole process (start, read, render)

Ratios are speed ratios against the baseline (> 1: faster than it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common
from common import Result


def build(path: Path, groups: int) -> int:
    """Write the report; return its number of content items."""
    from dicomkit.core._dataset import Dataset
    from dicomkit.sr import Code
    from dicomkit.sr._codes import SCT, UCUM
    from dicomkit.sr.templates import _tid1500 as t

    images = []
    for i in range(50):
        ds = Dataset()
        ds.set(0x00080016, "1.2.840.10008.5.1.4.1.1.2", "UI")
        ds.set(0x00080018, f"1.2.826.0.1.3680043.2.1125.77.{i + 1}", "UI")
        ds.set(0x0020000D, "1.2.826.0.1.3680043.2.1125.77.1000", "UI")
        ds.set(0x0020000E, "1.2.826.0.1.3680043.2.1125.77.1001", "UI")
        ds.set(0x00080060, "CT", "CS")
        ds.set(0x00280010, 512, "US")
        images.append(ds)
    finding = Code("108369006", "SCT", "Neoplasm")
    site = Code("39607008", "SCT", "Lung")
    made = [
        t.measurement_group(
            f"lesion {g}",
            finding=finding,
            finding_sites=[site],
            region=t.ImageRegion("POLYLINE", (1, 1, 9, 1, 9, 9, 1, 1), images[g % 50]),
            measurements=[
                t.Measurement(SCT.Length, 10 + g / 7, UCUM.Millimeter, derivation=SCT.Maximum),
                t.Measurement(SCT.Diameter, 5 + g / 3, UCUM.Millimeter, derivation=SCT.Mean),
                t.Measurement(SCT.Area, 80 + g, UCUM.SquareMillimeter, derivation=SCT.Mean),
                t.Measurement(SCT.Volume, 900 + g, UCUM.CubicMillimeter, derivation=SCT.Mean),
            ],
        )
        for g in range(groups)
    ]
    doc = t.measurement_report_document(
        made,
        evidence=images,
        procedure_reported=Code("77477000", "SCT", "CT"),
        observer_person="Bench^Mark",
    )
    doc.save(path)
    return sum(1 for _ in doc.root.walk())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.add_common_args(ap)
    ap.set_defaults(repeat=int(os.environ.get("BENCH_REPEAT", "7")))
    ap.add_argument("--groups", type=int, default=200, help="measurement groups (15 items each)")
    args = ap.parse_args()

    import dicomkit
    from dicomkit import sr

    tmp = Path(tempfile.mkdtemp(prefix="bench_sr_"))
    path = tmp / "report.dcm"
    n_items = build(path, args.groups)
    size = path.stat().st_size
    print(f"report: {n_items} content items, {size / 1e6:.2f} MB ({path})")

    def ours() -> int:
        doc = sr.read(dicomkit.read(path))
        return len(sr.render.text(doc))

    fns = {"dicomkit": ours}
    try:
        import highdicom as hd
        import pydicom

        def theirs() -> object:
            return hd.sr.Comprehensive3DSR.from_dataset(pydicom.dcmread(path))

        fns["highdicom"] = theirs
    except ImportError:
        print("bench_sr: highdicom not installed (pip install highdicom): left out")
    dsrdump = "/usr/bin/dsrdump"
    if os.access(dsrdump, os.X_OK):

        def dcmtk() -> None:
            subprocess.run([dsrdump, str(path)], stdout=subprocess.DEVNULL, check=True)

        fns["dcmtk"] = dcmtk
    else:
        print("bench_sr: /usr/bin/dsrdump missing (apt-get install dcmtk): left out")
    fns = {k: v for k, v in fns.items() if common.wanted(args, k)}
    timings = common.interleaved(fns, repeat=args.repeat, warmup=1)
    workload = f"SR {n_items} items: tree + text"
    results = [
        Result("sr", workload, impl, t, items=n_items, nbytes=size, runs=runs)
        for impl, (t, runs) in timings.items()
    ]
    for baseline in ("highdicom", "dcmtk"):
        if baseline in timings:
            common.print_table(results, baseline, f"SR read + render, median of {args.repeat}")
    mine = timings.get("dicomkit", (None,))[0]
    for other, goal in (("highdicom", 3.0), ("dcmtk", 1.0)):
        if mine and other in timings:
            ratio = timings[other][0] / mine
            verdict = "met" if ratio >= goal else "NOT met"
            print(f"dicomkit vs {other}: {ratio:.2f}x faster (goal >= {goal:g}x: {verdict})")
    common.save_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
