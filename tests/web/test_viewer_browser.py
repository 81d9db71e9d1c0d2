"""The node's web page in a real browser: Debian's chromium driven by Playwright (the
system browser, not Playwright's download). List, search, study page with thumbnails,
viewer: scroll frames, change the window, and the canvas's pixels against the frame the
pixel pipeline renders (nearest-neighbour scaling in the page; tolerance for edges)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from peers import missing
from viewer_data import Study, studies
from web_helpers import serve_archive

from dicomkit.archive._node import Archive
from dicomkit.pixels._display import display_frame

pytestmark = [pytest.mark.interop, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Study]]]:
    archive = Archive(tmp_path_factory.mktemp("viewer-archive"))
    data = studies()
    for st in data:
        for ds in st.instances:
            archive.store_dataset(ds)
    with serve_archive(archive) as port:
        yield f"http://127.0.0.1:{port}", data
    archive.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("python package playwright")
    with sync_playwright() as p:
        # root in CI: no sandbox; containers often have a small /dev/shm
        args = ["--no-sandbox", "--disable-dev-shm-usage"]
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 900, "height": 700}, device_scale_factor=1)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, errors


def _rows(page: Any) -> list[str]:
    page.wait_for_function("document.querySelector('#status').textContent.includes('stud')")
    return [str(t) for t in page.locator("#studies tbody tr td:nth-child(2)").all_inner_texts()]


def test_list_search_and_study_page(site: tuple[str, list[Study]], page: Any) -> None:
    url, data = site
    ct = data[0]
    page.goto(url + "/")
    assert sorted(_rows(page)) == ["P001", "P002"]
    page.fill("input[name=patient]", "DOE")
    page.click("button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#studies tbody tr').length === 1")
    assert _rows(page) == ["P001"]
    page.click("button[type=reset]")
    page.wait_for_function("document.querySelectorAll('#studies tbody tr').length === 2")
    page.fill("input[name=from]", "2023-01-01")
    page.fill("input[name=to]", "2023-12-31")
    page.click("button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#studies tbody tr').length === 1")
    assert _rows(page) == ["P002"]
    page.click("button[type=reset]")
    page.fill("input[name=modality]", "ct")
    page.fill("input[name=accession]", ct.accession)
    page.click("button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#studies tbody tr').length === 1")
    page.click("#studies tbody tr")
    page.wait_for_selector("#series .card")
    assert page.locator("#series .card").count() == len(ct.series)
    page.wait_for_function(
        "[...document.querySelectorAll('#series img')].every(i => i.complete && i.naturalWidth)"
    )
    sizes = page.evaluate(
        "[...document.querySelectorAll('#series img')].map(i => [i.naturalHeight, i.naturalWidth])"
    )
    # 48 x 64 CT fitted into 128 x 128 keeps its aspect; the 40 x 40 one fills it
    assert sizes == [[96, 128], [128, 128]]


def test_a_late_answer_does_not_overwrite_a_newer_search(
    site: tuple[str, list[Study]], page: Any
) -> None:
    url, _data = site
    held: list[Any] = []

    def hold_the_first_list(route: Any) -> None:
        if not held and "PatientName" not in route.request.url:
            held.append(route)  # the page's first search: answered after the newer one
        else:
            route.continue_()

    # counts the API answers the page has read (its code after the read runs in the same task)
    page.add_init_script(
        "(() => { const json = Response.prototype.json;"
        " Response.prototype.json = async function () { const v = await json.call(this);"
        " window.dkAnswers = (window.dkAnswers || 0) + 1; return v; }; })()"
    )
    page.route(lambda u: "/dicom-web/studies?" in u, hold_the_first_list)
    page.goto(url + "/")
    page.fill("input[name=patient]", "DOE")
    page.click("button[type=submit]")
    assert _rows(page) == ["P001"]
    assert len(held) == 1
    with page.expect_request_finished(lambda r: r == held[0].request):
        held[0].continue_()
    page.wait_for_function("window.dkAnswers === 2")
    assert _rows(page) == ["P001"]
    assert page.text_content("#status") == "1 study"


def _canvas(page: Any) -> tuple[np.ndarray, dict[str, float]]:
    import imagecodecs

    page.add_style_tag(content=".info { visibility: hidden; }")
    shot = imagecodecs.png_decode(page.locator("#canvas").screenshot())
    return np.asarray(shot)[..., 0].astype(int), page.evaluate("dkViewer.rect")


def _assert_shows(page: Any, expected: np.ndarray) -> None:
    """The canvas shows ``expected`` (uint8 rows x columns) in the drawn rectangle."""
    shot, rect = _canvas(page)
    rows, cols = expected.shape
    ys = np.arange(int(np.ceil(rect["y"])) + 1, int(rect["y"] + rect["h"]) - 1)
    xs = np.arange(int(np.ceil(rect["x"])) + 1, int(rect["x"] + rect["w"]) - 1)
    assert len(ys) > rows and len(xs) > cols  # the frame is enlarged, not thumbnailed
    src_r = np.floor((ys + 0.5 - rect["y"]) * rows / rect["h"]).astype(int)
    src_c = np.floor((xs + 0.5 - rect["x"]) * cols / rect["w"]).astype(int)
    want = expected[np.ix_(src_r, src_c)].astype(int)
    got = shot[np.ix_(ys, xs)]
    diff = np.abs(got - want)
    assert diff.mean() < 1.5, diff.mean()
    assert (diff > 8).mean() < 0.03, (diff > 8).mean()  # pixel edges at a non-integer scale


def _wait_frame(page: Any, n: int) -> None:
    page.wait_for_function(f"document.querySelector('#canvas').dataset.frame === '{n}'")


def test_viewer_scrolls_and_windows(site: tuple[str, list[Study]], page: Any) -> None:
    url, data = site
    ct = data[0]
    series, instances = next(iter(ct.series.items()))
    page.goto(f"{url}/#/view/{ct.uid}/{series}")
    _wait_frame(page, 1)
    assert page.evaluate("dkViewer.frames.length") == len(instances)
    _assert_shows(page, display_frame(instances[0]))  # the data set's window (40/400)
    assert "DOE JANE" in page.text_content("#info-tl")
    assert "DOE JANE 2024-01-02" in page.text_content("#crumbs")
    assert "CT #1 series 1" in page.text_content("#crumbs")
    page.keyboard.press("ArrowDown")
    _wait_frame(page, 2)
    _assert_shows(page, display_frame(instances[1]))
    page.mouse.move(450, 400)
    page.mouse.wheel(0, 100)
    _wait_frame(page, 3)
    _assert_shows(page, display_frame(instances[2]))
    assert "Image 3/4" in page.text_content("#info-bl")
    # a preset, then a drag: the canvas follows the window the page reports
    page.select_option("#preset", "Lung")
    assert page.evaluate("[dkViewer.center, dkViewer.width]") == [-600, 1500]
    _assert_shows(page, display_frame(instances[2], center=-600, width=1500))
    page.mouse.move(450, 400)
    page.mouse.down()
    page.mouse.move(350, 450, steps=4)
    page.mouse.up()
    center, width = page.evaluate("[dkViewer.center, dkViewer.width]")
    assert (center, width) != (-600, 1500)
    _assert_shows(page, display_frame(instances[2], center=center, width=width))
    # zoom enlarges the drawn frame; reset brings back the fit and the default window
    before = page.evaluate("dkViewer.rect.w")
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    assert page.evaluate("dkViewer.rect.w") > before * 1.3
    page.keyboard.press("r")
    assert page.evaluate("[dkViewer.center, dkViewer.width, dkViewer.rect.w]") == [40, 400, before]


def test_viewer_multiframe(site: tuple[str, list[Study]], page: Any) -> None:
    url, data = site
    ct = data[0]
    series, (mf,) = list(ct.series.items())[1]
    page.goto(f"{url}/#/view/{ct.uid}/{series}")
    _wait_frame(page, 1)
    assert page.evaluate("dkViewer.frames.length") == 3
    page.keyboard.press("End")
    _wait_frame(page, 3)
    _assert_shows(page, display_frame(mf, 2))
    assert "frame 3/3" in page.text_content("#info-bl")


# -- a node that asks for credentials ------------------------------------------------------------

TOKEN = "browser-token-0123456789abcdef"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Study]]]:
    import hashlib

    from dicomkit.archive._web_settings import check_web

    settings = check_web(
        {
            "users": {
                "alice": {"password_sha256": hashlib.sha256(b"wonderland").hexdigest()},
                "robot": {"token": TOKEN},
            }
        }
    )
    archive = Archive(tmp_path_factory.mktemp("viewer-secured"))
    data = studies()
    for st in data:
        for ds in st.instances:
            archive.store_dataset(ds)
    with serve_archive(archive, settings=settings) as port:
        yield f"http://127.0.0.1:{port}", data
    archive.close()


def _sign_in(page: Any, **fields: str) -> str:
    """Wait for the sign-in form, fill it, submit; the words it showed."""
    page.wait_for_selector("#signin[open]")
    why = str(page.text_content("#signin-why"))
    for name, text in fields.items():
        page.fill(f"#signin-form input[name={name}]", text)
    page.click("#signin-form button[type=submit]")
    return why


def test_basic_sign_in_then_every_request_carries_it(
    secured: tuple[str, list[Study]], page: Any
) -> None:
    url, data = secured
    ct = data[0]
    sent: list[tuple[str, str | None]] = []
    page.on(
        "request",
        lambda r: (
            sent.append((r.url, r.headers.get("authorization"))) if "/dicom-web/" in r.url else None
        ),
    )
    page.goto(url + "/")
    # the form as the first 401 shows it (submitting closes it until the next 401 reopens it)
    page.wait_for_selector("#signin[open]")
    assert page.is_visible("#signin-basic") and page.is_visible("#signin-bearer")
    why = _sign_in(page, user="alice", password="looking-glass")  # wrong first
    assert "sign in" in why
    why = _sign_in(page, user="alice", password="wonderland")
    assert "wrong user name or password" in why
    assert sorted(_rows(page)) == ["P001", "P002"]
    assert page.text_content("#who-name") == "alice"
    # the study page: thumbnails fetched with the header, shown from blob: URLs
    page.click("#studies tbody tr:has-text('P001')")
    page.wait_for_selector("#series .card")
    page.wait_for_function(
        "[...document.querySelectorAll('#series img')].every(i => i.complete && i.naturalWidth)"
    )
    srcs = page.evaluate("[...document.querySelectorAll('#series img')].map(i => i.src)")
    assert len(srcs) == len(ct.series) and all(s.startswith("blob:") for s in srcs)
    # the viewer: metadata and frames, the canvas shows the pipeline's frame
    series, instances = next(iter(ct.series.items()))
    page.click(f"#series .card[data-series='{series}']")
    _wait_frame(page, 1)
    _assert_shows(page, display_frame(instances[0]))
    basic = "Basic " + __import__("base64").b64encode(b"alice:wonderland").decode()
    answered = [(u, h) for u, h in sent if h == basic]
    assert any("/metadata" in u for u, _h in answered)
    assert any("/frames/" in u for u, _h in answered)
    assert any("/thumbnail" in u for u, _h in answered)
    # after signing in, nothing went out without the header
    first = next(i for i, (_u, h) in enumerate(sent) if h == basic)
    assert all(h == basic for _u, h in sent[first:])


def test_token_sign_in_opens_a_series_and_sign_out_forgets_it(
    secured: tuple[str, list[Study]], page: Any
) -> None:
    url, data = secured
    mr = data[1]
    series, instances = next(iter(mr.series.items()))
    page.goto(f"{url}/#/view/{mr.uid}/{series}")  # straight to the viewer
    page.wait_for_selector("#signin[open]")
    page.keyboard.press("Escape")  # the form stays: requests are waiting for it
    assert page.is_visible("#signin-form")
    _sign_in(page, token=TOKEN)
    _wait_frame(page, 1)
    _assert_shows(page, display_frame(instances[0]))
    assert page.text_content("#who-name") == "token"
    page.reload()  # kept for the tab's life
    _wait_frame(page, 1)
    assert not page.is_visible("#signin")
    page.click("#signout")
    page.wait_for_selector("#signin[open]")
    assert page.evaluate("sessionStorage.length") == 0
