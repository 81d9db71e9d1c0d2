"""``GET /health`` of the node's metrics port answers 503, with words, when the index does not
answer (locked / hung, damaged) or the disk is over the high-water mark; 200 otherwise, with
the free space and the mark in the document."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from peers import free_port

from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import NodeConfig
from dicomkit.archive._metrics import IndexProbe


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as rsp:
            return rsp.status, json.loads(rsp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _run(cfg: NodeConfig, body: Callable[[ArchiveNode, str], Awaitable[None]]) -> None:
    async def main() -> None:
        node = ArchiveNode(cfg)
        server = await node.start()
        try:
            await body(node, f"http://127.0.0.1:{cfg.metrics_port}/health")
        finally:
            await server.close()
            await node.health_server.stop()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def _cfg(tmp_path: Path, **kw: Any) -> NodeConfig:
    return NodeConfig(
        archive=tmp_path / "a", host="127.0.0.1", port=0, metrics_port=free_port(), **kw
    )


def test_health_ok_reports_the_index_and_the_disk(tmp_path: Path) -> None:
    got: list[tuple[int, dict[str, Any]]] = []

    async def body(node: ArchiveNode, url: str) -> None:
        got.append(await asyncio.to_thread(_get, url))

    _run(_cfg(tmp_path, min_free_bytes=1), body)
    status, doc = got[0]
    assert status == 200 and doc["status"] == "ok" and doc["index"] == "ok"
    assert doc["disk_free_bytes"] > 1 and doc["disk_min_free_bytes"] == 1
    assert "reason" not in doc


def test_health_is_503_while_the_index_is_locked_and_recovers(tmp_path: Path) -> None:
    got: list[tuple[int, dict[str, Any]]] = []

    async def body(node: ArchiveNode, url: str) -> None:
        node._index_probe = IndexProbe(node.archive.index.ping, timeout=0.3)
        held, release = threading.Event(), threading.Event()

        def hold() -> None:  # a writer that never finishes its transaction
            with node.archive.index.db.lock:
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(10)
        try:
            got.append(await asyncio.to_thread(_get, url))  # times out
            got.append(await asyncio.to_thread(_get, url))  # the stuck query: at once
        finally:
            release.set()
            await asyncio.to_thread(holder.join, 10)
        for _ in range(100):  # the stuck query ends once the lock is free
            if node._index_probe._running.done():
                break
            await asyncio.sleep(0.05)
        got.append(await asyncio.to_thread(_get, url))

    _run(_cfg(tmp_path), body)
    (s1, d1), (s2, d2), (s3, d3) = got
    assert s1 == 503 and d1["status"] == "down" and d1["index"] == "failing"
    assert "did not answer a query within 0.3 s" in d1["reason"]
    assert s2 == 503 and "has not answered the previous health query" in d2["reason"]
    assert s3 == 200 and d3["status"] == "ok"


def test_health_is_503_when_the_index_is_damaged(tmp_path: Path) -> None:
    got: list[tuple[int, dict[str, Any]]] = []

    async def body(node: ArchiveNode, url: str) -> None:
        got.append(await asyncio.to_thread(_get, url))
        other = sqlite3.connect(tmp_path / "a" / "index.sqlite", isolation_level=None)
        other.execute("PRAGMA foreign_keys=OFF")
        other.execute("DROP TABLE instances")  # the index loses a table under the node
        other.close()
        got.append(await asyncio.to_thread(_get, url))

    _run(_cfg(tmp_path), body)
    (s1, _d1), (s2, d2) = got
    assert s1 == 200
    assert s2 == 503 and d2["status"] == "down" and d2["index"] == "failing"
    assert "the index does not answer" in d2["reason"] and "instances" in d2["reason"]
    assert "dicomkit archive check" in d2["reason"]


def test_health_is_503_when_the_disk_is_over_the_mark(tmp_path: Path) -> None:
    got: list[tuple[int, dict[str, Any]]] = []

    async def body(node: ArchiveNode, url: str) -> None:
        got.append(await asyncio.to_thread(_get, url))

    _run(_cfg(tmp_path, min_free_bytes=1 << 62), body)  # more than any disk has
    status, doc = got[0]
    assert status == 503 and doc["status"] == "degraded" and doc["index"] == "ok"
    assert "disk nearly full" in doc["reason"]
    assert doc["disk_free_bytes"] < doc["disk_min_free_bytes"] == 1 << 62
