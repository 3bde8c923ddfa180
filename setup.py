"""The native accelerators: `sniffer read`'s text loop (sniffer/decode/_fastline.c), the full
dissection's L2-L4 layers (sniffer/decode/_fastfields.c), docs/decode.md; and the TCP analysis' state
(sniffer/model/_tcpstate.c), docs/analysis.md.

Everything else is declared in pyproject.toml. The extension is optional: where no C compiler (or no
Python.h) is present the build warns and goes on, and the pure-Python loop runs (same output; a test
compares them). `pip install -e .` builds it in place next to its source.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sniffer.decode._fastline",
            ["sniffer/decode/_fastline.c"],
            optional=True,
            extra_compile_args=[
                "-O2",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Wno-missing-field-initializers",
            ],
        ),
        Extension(
            "sniffer.decode._fastfields",
            ["sniffer/decode/_fastfields.c"],
            optional=True,
            extra_compile_args=[
                "-O2",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Wno-missing-field-initializers",
            ],
        ),
        Extension(
            "sniffer.model._tcpstate",
            ["sniffer/model/_tcpstate.c"],
            optional=True,
            extra_compile_args=[
                "-O2",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Wno-missing-field-initializers",
            ],
        ),
    ]
)
