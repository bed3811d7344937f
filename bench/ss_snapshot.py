"""What `ss` sees of a connection limit that certainly holds: the bench's outside count, checked.

    .venv/bin/python bench/ss_snapshot.py [--seconds 20] [--runs 3]

One process opens short TCP connections to a local server from 8 threads through a semaphore
of 5, so at most 5 are ever open on its side; another process samples `ss` every 10 ms, as
bench/run.py's sampler does, and keeps the largest count of established connections. Two modes:
  - quiet:  only the connections;
  - spawn:  the same, while two more threads start short subprocesses (`openssl version`),
            as the TLS probe started `openssl verify` and the other probes start nmap;
  - apart:  the same subprocesses, started by another process: the same load on the machine,
            but no child can hold a copy of the connecting process's sockets.
A count over 5 in quiet mode is `ss` itself: one dump is not an atomic snapshot while
connections churn. A higher count in spawn mode is real: a child holds copies of the parent's
sockets from fork until exec, so a socket the parent closed stays open for that moment.
Loopback only (127.0.0.1).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time

LIMIT = 5


def load(port: int, mode: str, seconds: float) -> None:
    """The connecting side (run in its own process, so the sampler's forks stay out of it)."""
    gate = threading.BoundedSemaphore(LIMIT)
    stop = threading.Event()

    def connect() -> None:
        while not stop.is_set():
            with gate:
                sock = socket.create_connection(("127.0.0.1", port))
                time.sleep(0.002)
                sock.close()

    def start_children() -> None:
        while not stop.is_set():
            subprocess.run(["openssl", "version"], capture_output=True, check=False)

    connecting = 0 if mode == "spawner" else 8  # the spawner only starts children
    threads = [threading.Thread(target=connect, daemon=True) for _ in range(connecting)]
    if mode in ("spawn", "spawner"):
        threads += [threading.Thread(target=start_children, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()


def serve(srv: socket.socket) -> None:
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            return  # the listener was closed: the run is over
        threading.Thread(target=lambda c=conn: (c.recv(1), c.close()), daemon=True).start()


def one(mode: str, seconds: float) -> int:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(512)
    port = srv.getsockname()[1]
    threading.Thread(target=serve, args=(srv,), daemon=True).start()
    cmd = [sys.executable, __file__, "--load", str(port), mode, str(seconds)]
    loader = subprocess.Popen(cmd)
    spawner = None
    if mode == "apart":  # the children's load, from a process without the connections
        spawner = subprocess.Popen([*cmd[:3], "0", "spawner", str(seconds)])
    peak = 0
    query = ["ss", "-Htn", "state", "established", "dst", f"127.0.0.1:{port}"]
    while loader.poll() is None:
        out = subprocess.run(query, capture_output=True, text=True, check=False).stdout
        peak = max(peak, sum(1 for line in out.splitlines() if line.strip()))
        time.sleep(0.01)
    srv.close()
    if spawner is not None:
        spawner.wait()
    return peak


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--load":
        load(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for mode in ("quiet", "spawn", "apart"):
        peaks = [one(mode, args.seconds) for _ in range(args.runs)]
        print(f"{mode}: limit {LIMIT}, most established seen by ss per run: {peaks}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
