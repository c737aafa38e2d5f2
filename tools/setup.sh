#!/usr/bin/env bash
# Installs the system tools ovseg builds with, when they are missing: a JDK (17+), Maven, CMake
# (3.18+) and a C++17 compiler, from Debian's packages. Idempotent and quiet when all is there.
# Python (tools/ export scripts and the parity test) is set up by tools/python-setup.sh.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
# A font for the overlay legend (the overlay is still written without one).
ls /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf >/dev/null 2>&1 || missing+=(fonts-dejavu-core fontconfig)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: missing build tools: ${missing[*]} (install them, or run this as root on Debian/Ubuntu)" >&2
        exit 2
    fi
    echo "ovseg setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# ovseg serve's web-page test drives a headless Chromium through chromium-driver (Selenium with
# both paths given, so nothing is downloaded). Without root the test skips and says why.
browser=()
[[ -x /usr/bin/chromium ]] || browser+=(chromium)
[[ -x /usr/bin/chromedriver ]] || browser+=(chromium-driver)
if ((${#browser[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "ovseg setup: installing ${browser[*]} (browser test of ovseg serve)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${browser[@]}" >/dev/null
    else
        echo "ovseg setup: ${browser[*]} missing (needs root and apt-get); the browser test of ovseg serve will skip" >&2
    fi
fi
