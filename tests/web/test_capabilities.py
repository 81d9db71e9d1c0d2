"""OPTIONS and the capabilities resource (PS3.18 8.9): WADL by default, JSON on request,
an Allow header per resource, and 404 for a path that is no resource."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import requests

from dicomkit.web import WebClient

WADL_NS = "{http://wadl.dev.java.net/2009/02}"


def test_wadl_lists_the_resources(served: Any) -> None:
    r = requests.options(served.url + "/", timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.sun.wadl+xml")
    root = ET.fromstring(r.content)
    (resources,) = root.iter(WADL_NS + "resources")
    assert resources.get("base") == served.url + "/"
    paths = {res.get("path"): res for res in root.iter(WADL_NS + "resource")}
    assert {"studies", "series", "instances", "studies/{study}/metadata"} <= set(paths)
    methods = {m.get("name") for m in paths["studies"].iter(WADL_NS + "method")}
    assert methods == {"GET", "POST"}
    media = {
        rep.get("mediaType")
        for m in paths["studies/{study}/metadata"].iter(WADL_NS + "method")
        for rep in m.iter(WADL_NS + "representation")
    }
    assert "application/dicom+json" in media and "application/dicom+xml" in media


def test_allow_header_per_resource_and_json(served: Any) -> None:
    study = served.rows[0]["StudyInstanceUID"]
    r = requests.options(f"{served.url}/studies/{study}", timeout=30)
    assert set(r.headers["allow"].split(", ")) >= {"GET", "POST", "OPTIONS"}
    assert "DELETE" not in r.headers["allow"]  # off by default
    missing = requests.options(f"{served.url}/nothing/here", timeout=30)
    assert missing.status_code == 404
    caps = WebClient(served.url).capabilities()
    assert caps["base"] == served.url
    by_path = {res["path"]: res["methods"] for res in caps["resources"]}
    assert "GET" in by_path["/studies/{study}/series/{series}/instances/{sop}/frames/{frames}"]
