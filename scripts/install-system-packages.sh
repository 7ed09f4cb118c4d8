#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages cosim uses: ngspice (SPICE validation), libngspice0-dev
# (PySpice's shared mode), dataset-fashion-mnist (the default chip's dataset) and chromium (the tests open
# report.html pages in a headless browser).
# Runs apt-get when it has the rights (root, or password-less sudo); otherwise says what to install
# and carries on: cosim itself runs without them, and the tests that need them are skipped.
set -u
packages=(ngspice libngspice0-dev dataset-fashion-mnist chromium)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
else
    echo "cosim: please install these system packages: sudo apt-get install ${missing[*]}" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "cosim: could not install ${missing[*]}; install them with apt-get (see README.md)" >&2
exit 0
