"""Measure what a compiler gives on the decoder: `sniffer read` pure Python vs Cython vs mypyc.

One command: `python bench/accel.py [--file F] [--runs R] [--compilers cython,mypyc] [--modules M ...]`.
For each compiler it copies `sniffer/` to bench/out/accel-<compiler>/, compiles the hot modules there
unchanged (Cython in pure-Python mode; mypyc with two small source fixes it needs, printed when applied),
then times `python -m sniffer read F` with each tree first on PYTHONPATH, alternately, R rounds: CPU
seconds (user+sys of the child), medians, the ratio to pure Python, the load average beside each run,
and whether the output is byte for byte the one of the pure-Python tree (a compiled tree whose output
differs is not faster, it is wrong: its figure is marked), and whether the decoder scan the display
filters use finds the same field names (see reach below). The build's wall and CPU time are printed
too. Nothing here is used at run time: docs/decode.md ("A compiled accelerator") says why.

Needs gcc and the Python headers; Cython from PyPI (`pip install cython`, not a dependency of sniffer:
a variant whose compiler is missing is skipped with one line) and mypyc (it comes with mypy, in the
test extra).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
REAL = OUT / "real-traffic-1000000.pcap"

# where `read` spends its time on real traffic (cProfile): the engine, the common dissectors, the
# summary text loop and the layer map
MODULES = [
    "sniffer/decode/core.py",
    "sniffer/decode/engine.py",
    "sniffer/decode/link.py",
    "sniffer/decode/inet.py",
    "sniffer/decode/summary.py",
    "sniffer/decode/layers.py",
    "sniffer/decode/app.py",
]

# mypyc compiles classes to native classes and checks declared types at run time: two places in
# core.py need a change to run at all (found by this bench: every packet came out [Malformed Packet])
MYPYC_FIXES = [
    (  # Header.read replaces itself in the instance __dict__, which a native class has not
        "sniffer/decode/core.py",
        "\nclass Header:\n",
        "\n@__import__('mypy_extensions').mypyc_attr(native_class=False)\nclass Header:\n",
    ),
    (  # a tuple passed off as list[Node] (cast) fails mypyc's run-time check
        "sniffer/decode/core.py",
        "node.children = cast(list[Node], ())",
        "node.children = []",
    ),
]

CYTHON_SETUP = """
from setuptools import setup
from Cython.Build import cythonize
setup(name="accel-bench", packages=[], script_args=["build_ext", "--inplace", "-j", "2"],
      ext_modules=cythonize({mods!r}, compiler_directives={{"language_level": 3, "binding": True}},
                            nthreads=2, quiet=True))
"""

MYPYC_SETUP = """
from setuptools import setup
from mypyc.build import mypycify
setup(name="accel-bench", packages=[], script_args=["build_ext", "--inplace", "-j", "2"],
      ext_modules=mypycify({mods!r}, opt_level="2"))
"""


def _copy_tree(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "sniffer", dest / "sniffer", ignore=shutil.ignore_patterns("__pycache__", "*.so"))


def build(compiler: str, mods: list[str], reuse: bool = False) -> Path | None:
    """Copy the tree and compile ``mods`` in it; None (and one line) when the compiler is missing.
    ``reuse``: keep a tree built by an earlier run (its sources may be older than the worktree's)."""
    need = {"cython": "Cython", "mypyc": "mypyc"}[compiler]
    if importlib.util.find_spec(need) is None:
        print(
            f"{compiler}: not installed ({'pip install cython' if compiler == 'cython' else 'pip install mypy'})"
        )
        return None
    dest = OUT / f"accel-{compiler}"
    if reuse and list(dest.glob("sniffer/decode/*.so")):
        print(f"{compiler}: reusing the build in {dest}")
        return dest
    _copy_tree(dest)
    if compiler == "mypyc":
        for path, old, new in MYPYC_FIXES:
            p = dest / path
            text = p.read_text()
            if old in text:
                p.write_text(text.replace(old, new, 1))
                print(f"mypyc: fix applied in {path}: {old.strip()!r} -> {new.strip()!r}")
            else:
                print(f"mypyc: fix not needed or source moved in {path}: {old.strip()!r}")
    setup = (CYTHON_SETUP if compiler == "cython" else MYPYC_SETUP).format(mods=mods)
    (dest / "setup_accel.py").write_text(setup)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "setup_accel.py"], cwd=dest, capture_output=True, text=True, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if res.returncode != 0:
        print(f"{compiler}: build failed (see {dest}/build.log)")
        (dest / "build.log").write_text(res.stdout + res.stderr)
        return None
    print(f"{compiler}: built {len(mods)} modules in {time.monotonic() - t0:.0f} s wall, {cpu:.0f} s CPU")
    return dest


def run_read(tree: Path, capture: Path) -> tuple[float, str]:
    """CPU seconds (user+sys) of `python -m sniffer read capture` with ``tree`` first on the path, and
    the sha256 of its output."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sniffer", "read", str(capture.resolve())],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    h = hashlib.sha256()
    assert proc.stdout is not None
    out = proc.stdout
    for chunk in iter(lambda: out.read(1 << 20), b""):
        h.update(chunk)
    _, status, ru = os.wait4(proc.pid, 0)
    if status != 0:
        return float("nan"), f"exit status {status}"
    return ru.ru_utime + ru.ru_stime, h.hexdigest()


REACH = (
    "from sniffer.decode import engine, inet, layers; "
    "print(len(layers.reach(inet.dissect_udp)), len(layers.reach(inet.dissect_tcp)))"
)


def reach(tree: Path) -> str:
    """How many field names the display filters' decoder scan (decode/layers.reach, which reads the
    dissectors' code objects) finds below UDP and TCP with ``tree`` first on the path: a compiled
    function has no real __code__, so a compiled tree may read the same output and filter differently."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    res = subprocess.run(
        [sys.executable, "-c", REACH], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    return res.stdout.strip() if res.returncode == 0 else f"failed: {res.stderr.strip().splitlines()[-1:]}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--file", type=Path, default=REAL, help="capture to read (default: the real-traffic file)"
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--compilers", default="cython,mypyc")
    ap.add_argument("--reuse", action="store_true", help="keep the trees an earlier run built")
    ap.add_argument("--modules", nargs="*", default=MODULES, help="paths under the repository root")
    a = ap.parse_args()
    if not a.file.exists():
        print(
            f"accel: {a.file} does not exist: make it with python bench/read.py --files real", file=sys.stderr
        )
        return 2
    trees: dict[str, Path] = {"pure": ROOT}
    for c in a.compilers.split(","):
        t = build(c.strip(), list(a.modules), a.reuse)
        if t is not None:
            trees[c.strip()] = t
    scans = {name: reach(tree) for name, tree in trees.items()}
    for name, got in scans.items():
        same = "same as pure Python" if got == scans["pure"] else "DIFFERS: filters would change"
        print(f"{name:7s} layers.reach(udp, tcp) finds {got} field names: {same}")
    cpu: dict[str, list[float]] = {k: [] for k in trees}
    digest: dict[str, str] = {}
    for r in range(a.runs):
        for name, tree in trees.items():
            s, d = run_read(tree, a.file)
            cpu[name].append(s)
            digest.setdefault(name, d)
            same = "" if d == digest["pure"] else "  OUTPUT DIFFERS from pure Python"
            print(f"round {r + 1} {name:7s} {s:7.2f} CPU s  load {os.getloadavg()[0]:.2f}{same}")
    print(f"\n{a.file.name}: medians of {a.runs} (CPU s), load now {os.getloadavg()[0]:.2f}")
    base = statistics.median(cpu["pure"])
    for name in trees:
        m = statistics.median(cpu[name])
        ok = "identical output" if digest[name] == digest["pure"] else "OUTPUT DIFFERS (figure void)"
        print(f"  {name:7s} {m:7.2f}  {base / m:5.2f}x pure  {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
