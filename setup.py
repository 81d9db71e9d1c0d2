"""Build configuration beyond pyproject.toml: the optional C speed-up of the decoder.

``dicomkit.io._cscan`` (src/dicomkit/io/_cscan.c, CPython API only) is built when a C compiler
and the Python headers are there; ``optional=True`` lets the install go on without it, and the
decoder then runs its pure-Python loop (the same results, tests/io run both).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dicomkit.io._cscan",
            sources=["src/dicomkit/io/_cscan.c"],
            optional=True,
        )
    ]
)
