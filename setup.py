"""The native accelerators: `sniffer read`'s text loop (sniffer/decode/_fastline.c), the full
dissection's L2-L4 layers (sniffer/decode/_fastfields.c), docs/decode.md; and the TCP analysis' state
(sniffer/model/_tcpstate.c), docs/analysis.md.

Everything else is declared in pyproject.toml. The extension is optional: where no C compiler (or no
Python.h) is present the build warns and goes on, and the pure-Python loop runs (same output; a test
compares them). `pip install -e .` builds it in place next to its source.
"""

from setuptools import Extension, setup


def _native(name: str, source: str) -> Extension:
    """An optional C extension (no compiler: a warning, and the pure-Python code runs)."""
    return Extension(
        name,
        [source],
        depends=["sniffer/_native.h"],
        optional=True,
        extra_compile_args=[
            "-O2",
            "-Wall",
            "-Wextra",
            "-Wno-unused-parameter",
            "-Wno-missing-field-initializers",
        ],
    )


setup(
    ext_modules=[
        _native("sniffer.decode._fastline", "sniffer/decode/_fastline.c"),
        _native("sniffer.decode._fastfields", "sniffer/decode/_fastfields.c"),
        _native("sniffer.model._tcpstate", "sniffer/model/_tcpstate.c"),
    ]
)
