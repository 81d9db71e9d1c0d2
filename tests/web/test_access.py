"""Who may do what on DICOMweb: users from the [web] config (HTTP Basic, bearer tokens),
per-user permissions, 401/403 in words, CORS, HTTPS, X-Forwarded-* from a trusted proxy,
and DELETE behind its switch -- through requests, dicomweb-client and our WebClient."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from dicomweb_client import DICOMwebClient
from web_helpers import serve_archive

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
from archive_helpers import make_pki, synthetic, to_dataset

from dicomkit.archive import _config as cfgmod
from dicomkit.archive._node import Archive
from dicomkit.archive._web_settings import check_web, web_settings
from dicomkit.web._client import WebClient, WebClientError

TOKEN = "t0ken-for-the-pipeline-0123456789"

WEB = {
    "allow_delete": True,
    "cors_origins": ["https://viewer.example.org"],
    "users": {
        "alice": {
            "password_sha256": hashlib.sha256(b"wonderland").hexdigest(),
            "permissions": ["read"],
        },
        "pipeline": {"token": TOKEN, "permissions": ["read", "store", "delete"]},
    },
}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Archive, list[Any]]]:
    rows = synthetic(3)
    archive = Archive(tmp_path_factory.mktemp("web-guarded"))
    for row in rows:
        archive.store_dataset(to_dataset(row, pixels=True))
    with serve_archive(archive, settings=check_web(WEB)) as port:
        yield f"http://127.0.0.1:{port}/dicom-web", archive, rows
    archive.close()


def test_no_credentials_is_401_with_a_challenge(guarded: Any) -> None:
    url, _archive, _rows = guarded
    r = requests.get(url + "/studies", timeout=30)
    assert r.status_code == 401
    assert "Basic" in r.headers["www-authenticate"]
    assert "'read' permission" in r.text and "sign in" in r.text


def test_basic_user_reads_but_may_not_store_or_delete(guarded: Any) -> None:
    url, _archive, rows = guarded
    with requests.Session() as session:
        session.auth = ("alice", "wonderland")
        client = DICOMwebClient(url, session=session)
        studies = client.search_for_studies()
        r = session.delete(f"{url}/studies/{rows[0]['StudyInstanceUID']}", timeout=30)
    assert {s["0020000D"]["Value"][0] for s in studies} == {x["StudyInstanceUID"] for x in rows}
    assert r.status_code == 403
    assert "'alice' may not delete" in r.text and "permissions: read" in r.text
    wrong = requests.get(url + "/studies", auth=("alice", "queen"), timeout=30)
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text


def test_bearer_token_and_our_client(guarded: Any) -> None:
    url, _archive, rows = guarded
    client = WebClient(url, token=TOKEN)
    assert len(client.search("studies")) == len({r["StudyInstanceUID"] for r in rows})
    with pytest.raises(WebClientError) as info:
        WebClient(url, token="not-the-token-at-all-000").search("studies")
    assert info.value.status == 401 and "bearer token is not known" in str(info.value)
    with pytest.raises(WebClientError) as info:
        WebClient(url).search("studies")
    assert "--user" in str(info.value)


def test_delete_series_with_permission(guarded: Any) -> None:
    url, archive, rows = guarded
    victim = rows[-1]
    series = [r for r in rows if r["SeriesInstanceUID"] == victim["SeriesInstanceUID"]]
    paths = [
        archive.path_of(i)
        for i in archive.retrieve(
            {
                "QueryRetrieveLevel": "SERIES",
                "StudyInstanceUID": victim["StudyInstanceUID"],
                "SeriesInstanceUID": victim["SeriesInstanceUID"],
            }
        )
    ]
    assert len(paths) == len(series) and all(p.exists() for p in paths)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        DICOMwebClient(url, session=session).delete_series(
            victim["StudyInstanceUID"], victim["SeriesInstanceUID"]
        )
    assert not any(p.exists() for p in paths)
    left = WebClient(url, token=TOKEN).search(
        "series", study=victim["StudyInstanceUID"], filters={}
    )
    assert victim["SeriesInstanceUID"] not in {str(d.SeriesInstanceUID) for d in left}
    again = requests.delete(
        f"{url}/studies/{victim['StudyInstanceUID']}/series/{victim['SeriesInstanceUID']}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert again.status_code == 404


def test_cors_preflight_and_headers(guarded: Any) -> None:
    url, _archive, _rows = guarded
    pre = requests.options(
        url + "/studies",
        headers={
            "Origin": "https://viewer.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=30,
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://viewer.example.org"
    assert "GET" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-headers"] == "authorization"
    got = requests.get(
        url + "/studies",
        headers={"Origin": "https://viewer.example.org", "Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert got.status_code == 200
    assert got.headers["access-control-allow-origin"] == "https://viewer.example.org"
    other = requests.get(
        url + "/studies",
        headers={"Origin": "https://evil.example.com", "Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert "access-control-allow-origin" not in other.headers


def test_delete_is_off_by_default(served: Any) -> None:
    study = served.rows[0]["StudyInstanceUID"]
    r = requests.delete(f"{served.url}/studies/{study}", timeout=30)
    assert r.status_code == 405 and "allow_delete = true" in r.text
    assert served.archive.retrieve({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study})


def test_forwarded_headers_from_a_trusted_proxy(served: Any) -> None:
    study = served.rows[0]["StudyInstanceUID"]
    headers = {
        "X-Forwarded-Host": "pacs.example.org",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "8443",
        "X-Forwarded-Prefix": "/hospital",
    }
    r = requests.get(
        f"{served.url}/studies", params={"StudyInstanceUID": study}, headers=headers, timeout=30
    )
    url = r.json()[0]["00081190"]["Value"][0]
    assert url == f"https://pacs.example.org:8443/hospital/dicom-web/studies/{study}"
    plain = requests.get(f"{served.url}/studies", params={"StudyInstanceUID": study}, timeout=30)
    assert plain.json()[0]["00081190"]["Value"][0].startswith(
        f"http://127.0.0.1:{served.port}/dicom-web/studies/"
    )


def test_https_from_the_config(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    text = (
        f'[web]\ntls_cert = "{pki["server"]}"\ntls_key = "{pki["server_key"]}"\n'
        'anonymous = ["read"]\n'
    )
    (tmp_path / "node.toml").write_text(text)
    settings = web_settings(cfgmod.load(tmp_path / "node.toml").services)
    assert settings.tls_cert == str(pki["server"])
    archive = Archive(tmp_path / "archive")
    row = synthetic(1)[0]
    archive.store_dataset(to_dataset(row))
    with serve_archive(archive, settings=settings) as port:
        url = f"https://localhost:{port}/dicom-web"
        found = WebClient(url, cafile=str(pki["ca"])).search("studies")
        assert [str(d.StudyInstanceUID) for d in found] == [row["StudyInstanceUID"]]
        with pytest.raises(WebClientError) as info:  # anonymous may only read here
            WebClient(url, cafile=str(pki["ca"])).store([b"not stored"])
        assert info.value.status == 403 and "[web] anonymous" in str(info.value)
    archive.close()


@pytest.mark.parametrize(
    ("web", "words"),
    [
        ({"users": {"bob": {"permissions": ["read"]}}}, "give a password"),
        ({"users": {"bob": {"password": "x", "permissions": ["write"]}}}, "unknown permission"),
        ({"users": {"bob": {"token": "short"}}}, "at least 16"),
        ({"tls_cert": "a.pem"}, "tls_cert without tls_key"),
        ({"cors": ["*"]}, "unknown key(s) cors"),
    ],
)
def test_bad_web_config_says_what_is_wrong(tmp_path: Path, web: Any, words: str) -> None:
    with pytest.raises(cfgmod.ConfigError) as info:
        cfgmod.from_mapping({"web": web}, tmp_path)
    assert words in str(info.value)


def test_the_page_loads_without_credentials_and_its_401s_do_not_ask_the_browser(
    guarded: Any,
) -> None:
    """The web page (/ and /static/) holds no patient data: it loads without credentials so
    that it can show its sign-in form. Its own requests (X-Requested-With) get a Bearer-only
    challenge (a Basic one would open the browser's password dialog over the form) and the
    schemes the form may offer; other clients keep the Basic challenge."""
    url, _archive, _rows = guarded
    root = url.removesuffix("/dicom-web")
    page = requests.get(root + "/", timeout=30)
    assert page.status_code == 200 and "signin-form" in page.text
    assert requests.get(root + "/static/viewer.js", timeout=30).status_code == 200
    xhr = {"X-Requested-With": "XMLHttpRequest"}
    r = requests.get(url + "/studies", headers=xhr, timeout=30)
    assert r.status_code == 401 and "sign in" in r.text
    assert "Basic" not in r.headers["www-authenticate"]
    assert "Bearer" in r.headers["www-authenticate"]
    assert r.headers["x-auth-schemes"] == "Basic, Bearer"  # alice has a password, pipeline a token
    wrong = requests.get(
        url + "/studies", headers={**xhr, "Authorization": "Bearer nope"}, timeout=30
    )
    assert wrong.status_code == 401 and "not known" in wrong.text
    assert "Basic" not in wrong.headers["www-authenticate"]
    plain = requests.get(url + "/studies", timeout=30)
    assert "Basic" in plain.headers["www-authenticate"] and "x-auth-schemes" not in plain.headers


def test_the_sign_in_schemes_follow_the_users() -> None:
    from dicomkit.web._auth import AccessMiddleware

    def schemes(users: dict[str, Any]) -> bytes:
        return AccessMiddleware(lambda *a: None, check_web({"users": users})).schemes  # type: ignore[arg-type,return-value]

    digest = hashlib.sha256(b"wonderland").hexdigest()
    assert schemes({"robot": {"token": TOKEN}}) == b"Bearer"
    assert schemes({"alice": {"password_sha256": digest}}) == b"Basic"
    assert schemes({"alice": {"password_sha256": digest, "token": TOKEN}}) == b"Basic, Bearer"
