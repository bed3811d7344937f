#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with Python 3.11: system tools, venv, npm.
# Each step is skipped when already done, so `make demo` and `make test` can always call it.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nmap openssl nginx-light testssl.sh hydra openssh-server vsftpd chromium snmpd memcached dnsmasq-base)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # the packages start their daemons on Debian; the harness only needs the binaries
  for svc in nginx ssh vsftpd snmpd memcached; do $SUDO service "$svc" stop >/dev/null 2>&1 || true; done
fi

PY=${PYTHON:-python3}
stamp=.venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: creating .venv and installing the harness with pinned dependencies"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v WARNING || true
  .venv/bin/python -m pip install -q -e '.[dev,lab]' 2>&1 | grep -v WARNING || true
  .venv/bin/python -c "import harness, sslyze, nmap, allure" # fail loudly if the install did not work
  rm -f .venv/.installed-*; touch "$stamp"
fi

if [ -f package-lock.json ]; then
  lockstamp=node_modules/.installed-$(cat package-lock.json | sha256sum | cut -c1-16)
  if [ ! -f "$lockstamp" ]; then
    echo "setup: installing the Allure CLI from package-lock.json"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$lockstamp"
  fi
fi
