#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with Python 3.11: system tools, venv, npm.
# Each step is skipped when already done, so `make demo` and `make test` can always call it.
set -euo pipefail
cd "$(dirname "$0")/.."

# What a scan needs: nmap, and openssl for the strict-trust check. The demo lab itself is Python.
APT_PACKAGES=(nmap openssl)
# What the project's own tests add (`make test` passes --test): real servers and peer tools.
if [ "${1:-}" = "--test" ]; then
  APT_PACKAGES+=(nginx-light testssl.sh hydra openssh-server vsftpd chromium snmpd memcached dnsmasq-base)
fi
# Packages whose postinst starts a daemon: never left running by us, never stopped if the
# user's own (running before we installed anything).
DAEMONS=(nginx ssh vsftpd snmpd memcached)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  running=()
  for svc in "${DAEMONS[@]}"; do
    $SUDO service "$svc" status >/dev/null 2>&1 && running+=("$svc")
  done
  # policy-rc.d (Debian's switch for maintainer scripts) keeps the new daemons from starting at
  # all; one the machine already has is the admin's and is left alone
  policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}  # overridable for the test only
  ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# written by scripts/setup.sh for one apt-get install; removed after it\nexit 101\n' \
      | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    ours=1
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$ours" ]; then $SUDO rm -f "$policy"; trap - EXIT; fi
  # a daemon the install started anyway (an existing policy allowed it) is stopped; one that
  # ran before the install is the user's and keeps running
  for svc in "${DAEMONS[@]}"; do
    case " ${running[*]} " in *" $svc "*) continue ;; esac
    if $SUDO service "$svc" status >/dev/null 2>&1; then
      echo "setup: stopping $svc, which the install started (the harness needs only its binary)"
      $SUDO service "$svc" stop >/dev/null 2>&1 || true
    fi
  done
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
