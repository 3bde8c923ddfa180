#!/usr/bin/env bash
# Set up everything sniffer needs on a Debian machine, as root: system packages, a virtual
# environment in .venv, and the package with its test extra. Safe to run again (fast when done).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libpcap0.8 tcpdump tshark iproute2 nftables iputils-ping iperf3 tcpreplay socat tmux procps kmod
  openssh-server openssh-client
  fping traceroute
  gcc python3-dev  # build sniffer/decode/_fastline.c (read's native text loop), _fastfields.c (frame_fields' L2-L4) and sniffer/model/_tcpstate.c (the TCP analysis' state) (optional: without them the pure-Python code runs)
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.sniffer-installed
# (again when the build config or a C source of the native accelerator changed: the editable install builds
# sniffer/decode/_fastline.*.so, _fastfields.*.so and sniffer/model/_tcpstate.*.so in place)
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] \
  || [ -n "$(find sniffer \( -name '*.c' -o -name '*.h' \) -newer "$stamp" -print -quit)" ] \
  || { command -v gcc >/dev/null && { [ -z "$(find sniffer -name '_fastline*.so' -print -quit)" ] \
    || [ -z "$(find sniffer -name '_fastfields*.so' -print -quit)" ] \
    || [ -z "$(find sniffer -name '_tcpstate*.so' -print -quit)" ]; }; }; then
  .venv/bin/python -m pip install -q --upgrade pip >&2 || true
  .venv/bin/python -m pip install -q -e '.[test]' >&2
  touch "$stamp"
fi
# Byte-compile the package once (Python checks each .pyc against its source, so an edit is never hidden):
# where PYTHONDONTWRITEBYTECODE is set, every command would otherwise compile ~60 modules at start (~0.2 s)
.venv/bin/python -m compileall -q -j 0 sniffer >/dev/null || true
