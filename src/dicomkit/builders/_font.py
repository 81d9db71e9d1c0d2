"""A tiny 3x5 bitmap font for the text of graphic annotations: capitals (lower case is shown
in capitals), digits and common punctuation. Each glyph is five rows of three pixels."""

from __future__ import annotations

import numpy as np

__all__ = ["GLYPH_H", "GLYPH_W", "render_text"]

GLYPH_W, GLYPH_H = 3, 5

_GLYPHS = {
    "A": ".#. #.# ### #.# #.#", "B": "##. #.# ##. #.# ##.", "C": ".## #.. #.. #.. .##",
    "D": "##. #.# #.# #.# ##.", "E": "### #.. ##. #.. ###", "F": "### #.. ##. #.. #..",
    "G": ".## #.. #.# #.# .##", "H": "#.# #.# ### #.# #.#", "I": "### .#. .#. .#. ###",
    "J": "..# ..# ..# #.# .#.", "K": "#.# #.# ##. #.# #.#", "L": "#.. #.. #.. #.. ###",
    "M": "#.# ### ### #.# #.#", "N": "##. #.# #.# #.# #.#", "O": ".#. #.# #.# #.# .#.",
    "P": "##. #.# ##. #.. #..", "Q": ".#. #.# #.# ##. .##", "R": "##. #.# ##. #.# #.#",
    "S": ".## #.. .#. ..# ##.", "T": "### .#. .#. .#. .#.", "U": "#.# #.# #.# #.# ###",
    "V": "#.# #.# #.# #.# .#.", "W": "#.# #.# ### ### #.#", "X": "#.# #.# .#. #.# #.#",
    "Y": "#.# #.# .#. .#. .#.", "Z": "### ..# .#. #.. ###",
    "0": "### #.# #.# #.# ###", "1": ".#. ##. .#. .#. ###", "2": "##. ..# .#. #.. ###",
    "3": "##. ..# .#. ..# ##.", "4": "#.# #.# ### ..# ..#", "5": "### #.. ##. ..# ##.",
    "6": ".## #.. ### #.# ###", "7": "### ..# .#. .#. .#.", "8": "### #.# ### #.# ###",
    "9": "### #.# ### ..# ##.",
    " ": "... ... ... ... ...", ".": "... ... ... ... .#.", ",": "... ... ... .#. #..",
    ":": "... .#. ... .#. ...", "-": "... ... ### ... ...", "+": "... .#. ### .#. ...",
    "/": "..# ..# .#. #.. #..", "(": ".#. #.. #.. #.. .#.", ")": ".#. ..# ..# ..# .#.",
    "%": "#.# ..# .#. #.. #.#", "=": "... ### ... ### ...", "?": "##. ..# .#. ... .#.",
    "!": ".#. .#. .#. ... .#.", "_": "... ... ... ... ###", "'": ".#. .#. ... ... ...",
    "<": "..# .#. #.. .#. ..#", ">": "#.. .#. ..# .#. #..", "*": "... #.# .#. #.# ...",
}  # fmt: skip


def _glyph(ch: str) -> np.ndarray:
    rows = _GLYPHS.get(ch.upper(), _GLYPHS["?"]).split()
    return np.array([[c == "#" for c in row] for row in rows], dtype=bool)


def render_text(text: str, scale: int = 1) -> np.ndarray:
    """The bitmap of one line of ``text`` (True where ink), ``5 * scale`` pixels high and
    ``4 * scale`` wide per character (one column of space after each)."""
    line = text.replace("\r", " ").replace("\n", " ")
    out = np.zeros((GLYPH_H, max(1, len(line) * (GLYPH_W + 1))), dtype=bool)
    for i, ch in enumerate(line):
        out[:, i * (GLYPH_W + 1) : i * (GLYPH_W + 1) + GLYPH_W] = _glyph(ch)
    big: np.ndarray = np.kron(out, np.ones((scale, scale), dtype=bool))
    return big
