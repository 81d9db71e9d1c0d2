"""The ``[print]`` section of the node's config: a Print Management SCP (PS3.4 H) rendering
films to PNG and PDF in a folder (:class:`~dicomkit.services.PrintSCP`). Off by default::

    [print]
    enabled = true
    folder = "films"             # <folder>/<film session UID>/film-NNN.png and session.pdf
                                 # (default: prints/ in the archive folder)
    printer_name = "FILM1"
    dpi = 100                    # pixels per inch of the rendered films
    min_density = 20             # the printer's density range, OD x 100
    max_density = 300
    max_copies = 99
    custom_formats = ["1=ROW\\\\1,2"]   # CUSTOM\\i image display formats
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dicomkit.errors import InvalidValueError

if TYPE_CHECKING:
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.services import PrintSCP


@dataclass(frozen=True, slots=True)
class PrintSettings:
    """``[print]`` of the node's config file."""

    enabled: bool = False
    #: where films go (relative to the config file's folder); "": ``<archive>/prints``
    folder: str = ""
    printer_name: str = "DICOMKIT"
    dpi: float = 100.0
    min_density: int = 20
    max_density: int = 300
    max_copies: int = 99
    #: ``"i=FORMAT"``: what ``CUSTOM\\i`` means on this printer
    custom_formats: tuple[str, ...] = ()


def install(node: ArchiveNode, settings: PrintSettings) -> PrintSCP:
    """Build the print SCP of ``settings`` and add its handlers to the node."""
    from dicomkit.archive._config import ConfigError
    from dicomkit.services import PrinterProfile, PrintSCP

    custom: dict[str, str] = {}
    for entry in settings.custom_formats:
        key, sep, fmt = entry.partition("=")
        if not sep or not key.strip() or not fmt.strip():
            raise ConfigError(f'[print] custom_formats: {entry!r} is not "i=FORMAT"')
        custom[key.strip()] = fmt.strip()
    if settings.min_density >= settings.max_density:
        raise ConfigError("[print] min_density must be below max_density")
    folder = Path(settings.folder) if settings.folder else Path(node.config.archive) / "prints"
    try:
        scp = PrintSCP(
            folder,
            printer=PrinterProfile(
                dpi=settings.dpi,
                min_density=settings.min_density,
                max_density=settings.max_density,
                custom_formats=custom,
            ),
            printer_name=settings.printer_name,
            max_copies=max(1, settings.max_copies),
        )
    except InvalidValueError as exc:
        raise ConfigError(f"[print]: {exc}") from None
    for (kind, sop_class), handler in scp.handlers().items():
        node.add_handler(kind, handler, sop_classes=[sop_class])
    return scp


__all__ = ["PrintSettings", "install"]
