"""scripts/setup.sh touches only what it owns: a daemon the user ran before the install keeps
running, one the install starts is stopped, and Debian's policy-rc.d keeps new daemons from
starting during the install. apt-get, dpkg-query and service are stand-ins that record calls
(nothing is installed); the rest of the script runs as it does for `make demo`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STUBS = {
    "dpkg-query": "#!/bin/sh\nexit 1\n",  # every package missing
    "sudo": '#!/bin/sh\nexec "$@"\n',
    "apt-get": """#!/bin/sh
echo "apt-get $*" >> "$LOG"
case "$*" in *install*)
  [ -x "$POLICY_RC_D" ] && echo "policy present during install" >> "$LOG"
  touch "$STATE/installed" ;;
esac
""",
    # nginx is the user's, running before; memcached is started by the install's postinst
    "service": """#!/bin/sh
echo "service $*" >> "$LOG"
case "$1 $2" in
  "nginx status") exit 0 ;;
  "memcached status") [ -e "$STATE/installed" ] && exit 0; exit 3 ;;
  *" status") exit 3 ;;
esac
""",
}


def test_setup_leaves_the_users_services_alone(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    log, policy = tmp_path / "calls.log", tmp_path / "policy-rc.d"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "LOG": str(log),
        "STATE": str(tmp_path),
        "POLICY_RC_D": str(policy),
    }
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    calls = log.read_text().splitlines()
    assert "service nginx stop" not in calls, calls  # the user's web server keeps running
    assert "service memcached stop" in calls, calls  # the install started it: stopped
    assert "policy present during install" in calls
    assert not policy.exists()  # removed after the install
    install = next(c for c in calls if "install" in c)
    assert "nmap" in install and "nginx-light" not in install and "chromium" not in install
