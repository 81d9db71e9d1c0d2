"""The media creation SCP's requests on disk: one JSON file per request in a folder, rewritten
(atomically) at each change of state, read back when the SCP starts again -- so N-GET status
survives a restart and an interrupted request is built again (see
:meth:`MediaCreationSCP.resume <dicomkit.services.MediaCreationSCP.resume>`)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from dicomkit.io._json import from_json, to_json
from dicomkit.services._media_creation import (
    CREATING,
    PENDING,
    MediaJob,
    MediaRequest,
    MediaResult,
)

log = logging.getLogger("dicomkit.services.media_creation")


class MediaJournal:
    """The requests of a :class:`~dicomkit.services.MediaCreationSCP` kept in ``folder``
    (``<request UID>.json`` each)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def save(self, req: MediaRequest) -> None:
        """Write the request's current state (a new file, then renamed over the old one)."""
        job, result = req.job, req.result
        record: dict[str, Any] = {
            "uid": req.sop_instance_uid,
            "attributes": to_json(req.attributes),
            "status": req.status,
            "info": req.info,
            "priority": req.priority,
            "order": req.order,
            "failed": [list(f) for f in req.failed],
            "job": None
            if job is None
            else {
                "output": str(job.output),
                "fileset_id": job.fileset_id,
                "fileset_uid": job.fileset_uid,
                "label": job.label,
                "profile": job.profile,
                "copies": job.copies,
            },
            "result": None
            if result is None
            else {
                "folder": str(result.folder),
                "image": str(result.image) if result.image is not None else None,
                "pieces": result.pieces,
            },
        }
        path = self.folder / f"{req.sop_instance_uid}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, path)

    def load(self) -> list[MediaRequest]:
        """The requests kept here. One that was pending or being built when the SCP stopped
        is PENDING again (to be built by ``resume``); a file that cannot be read is left
        out, with a warning saying which and why."""
        out = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                req = _request(record)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning(
                    "media creation request %s cannot be read (%s): left out; remove the file "
                    "or ask for the media again",
                    path,
                    exc,
                )
                continue
            if req.status in (PENDING, CREATING):
                log.warning(
                    "media creation request %s was %s when the node stopped: it is built again",
                    req.sop_instance_uid,
                    req.status,
                )
                req.status = PENDING
            out.append(req)
        return out


def _request(record: dict[str, Any]) -> MediaRequest:
    req = MediaRequest(str(record["uid"]), from_json(record["attributes"]))
    req.status, req.info = str(record["status"]), str(record["info"])
    req.priority, req.order = int(record["priority"]), int(record["order"])
    req.failed = [(str(c), str(i), int(r)) for c, i, r in record["failed"]]
    job = record.get("job")
    if job is not None:
        req.job = MediaJob(
            req.sop_instance_uid,
            [],
            Path(job["output"]),
            fileset_id=job["fileset_id"],
            fileset_uid=job["fileset_uid"],
            label=job["label"],
            profile=job["profile"],
            copies=int(job["copies"]),
        )
    result = record.get("result")
    if result is not None:
        image = result.get("image")
        req.result = MediaResult(
            Path(result["folder"]), Path(image) if image else None, pieces=int(result["pieces"])
        )
    return req


__all__ = ["MediaJournal"]
