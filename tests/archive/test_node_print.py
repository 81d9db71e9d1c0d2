"""Print Management hosted by ``dicomkit serve`` (``[print]``, PS3.4 H): off by default, on with
its folder, checked settings; films rendered where the config says."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import ConfigError, from_mapping
from dicomkit.archive._hosted import enabled
from dicomkit.errors import AssociationRejected, LocalProtocolError
from dicomkit.net import AE
from dicomkit.services import FilmOptions, get_printer, print_contexts, print_images


def run_node(data: dict[str, Any], tmp_path: Path, body: Any) -> Any:
    cfg = from_mapping(
        {"server": {"archive": "arch", "host": "127.0.0.1", "port": 0, "http_port": 0}, **data},
        tmp_path,
    )

    async def main() -> Any:
        node = ArchiveNode(cfg)
        server = await node.start()
        try:
            return await body(node, server.port)
        finally:
            await server.close()
            await node.hosted.stop()
            node.archive.close()

    return asyncio.run(main())


async def _print(port: int) -> Any:
    async with AE("MODALITY").associate(
        "127.0.0.1", port, contexts=print_contexts(), ae_title="DICOMKIT"
    ) as assoc:
        printer = await get_printer(assoc)
        ramp = np.tile(np.arange(40, 240, 2, dtype=np.uint8), (50, 1))
        result = await print_images(assoc, [ramp], FilmOptions(layout="COL\\1,2"))
        return printer, result


def test_print_is_off_by_default(tmp_path: Path) -> None:
    async def body(node: ArchiveNode, port: int) -> None:
        assert node.hosted.print is None
        with pytest.raises((LocalProtocolError, AssociationRejected)):
            await _print(port)

    run_node({}, tmp_path, body)


def test_print_hosted_renders_into_its_folder(tmp_path: Path) -> None:
    data = {"print": {"enabled": True, "folder": "films", "dpi": 30, "printer_name": "WARD3"}}
    assert "Print Management" in enabled(from_mapping(data, tmp_path).services)

    async def body(node: ArchiveNode, port: int) -> Any:
        return await _print(port)

    printer, result = run_node(data, tmp_path, body)
    assert printer.PrinterName == "WARD3" and len(result.print_jobs) == 1
    (png,) = (tmp_path / "films").glob("*/film-001.png")
    with Image.open(png) as film:
        pixels = np.asarray(film)
    assert film.size == (round(203.2 * 30 / 25.4), round(254.0 * 30 / 25.4))
    h, w = pixels.shape
    # COL\1,2: the image fills the first column (one box); the second column is empty
    assert pixels[h // 2, w // 4] > 0 and not pixels[:, w // 2 + 3 :].any()


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"enabled": True, "custom_formats": ["ROW"]}, "i=FORMAT"),
        ({"enabled": True, "min_density": 300, "max_density": 20}, "min_density"),
        ({"enabled": "yes"}, "true or false"),
        ({"colour": True}, "unknown key"),
    ],
)
def test_bad_print_settings_say_what_to_write(
    section: dict[str, Any], words: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=words):
        cfg = from_mapping({"server": {"archive": "a", "port": 0}, "print": section}, tmp_path)
        ArchiveNode(cfg).archive.close()
