"""SR templates of PS3.16: builders and readers.

* :mod:`.tid1500` -- TID 1500 Measurement Report (TID 1410/1411/1501 groups)
* :mod:`.tid2000` -- TID 2000 Basic Diagnostic Imaging Report
* :mod:`.kos` -- TID 2010 Key Object Selection, IOCM rejection notes (CID 7011)
* :mod:`.dose` -- TID 10001/10011 radiation dose reports (reader)
* :mod:`.build_json` -- any of these from a small JSON description (``dicomkit sr build``)
"""
