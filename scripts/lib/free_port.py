"""A TCP port on 127.0.0.1 for a server that will bind it later.

Asking the kernel for one (binding port 0) gives a port from the ephemeral
range (net.ipv4.ip_local_port_range), the range it also takes the local
port of every outgoing connection from. A port chosen that way can be taken
by some client's connection in the seconds before its server starts: a
cluster starts PostgreSQL, Kafka and their clients in between, and a
replica then failed with "Address already in use". So ports come from the
stretch just below that range, which the kernel never hands out by itself,
at random, and only one that nothing is bound to now.

Nothing holds a port between the choice and the bind, so one caller (a
script, or a test process) is never given the same port twice: the ports
handed out are kept per caller, in memory for a Python process and in a
file named after the shell's process id for a script
(`python3 free_port.py $$`, see common.sh).

Run as a script, prints one port.
"""

import fcntl
import os
import random
import socket
import sys
import tempfile

# How far below the ephemeral range to look.
_SPAN = 10000

_given = set()  # this process's ports


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port(given=None):
    """A port not bound now, below the ephemeral range, and not in `given`
    (this process's earlier ports when None); added to `given`."""
    given = _given if given is None else given
    high = _ephemeral_low() - 1
    low = max(1024, high - _SPAN)
    if high - low >= 1000:
        for _ in range(1000):
            port = random.randint(low, high)
            if port not in given and _bindable(port):
                given.add(port)
                return port
    port = _kernel_port()  # no room below the range, or all taken
    given.add(port)
    return port


def _main(argv):
    if len(argv) < 2:
        print(free_port())
        return
    # A shell's ports, kept across its calls in a file of its own; files of
    # shells that are gone are removed on the way.
    directory = tempfile.gettempdir()
    for name in os.listdir(directory):
        if name.startswith("seatflow-ports-"):
            pid = name[len("seatflow-ports-"):]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                try:
                    os.remove(os.path.join(directory, name))
                except OSError:
                    pass
    path = os.path.join(directory, f"seatflow-ports-{argv[1]}")
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        given = {int(line) for line in f.read().split() if line.isdigit()}
        port = free_port(given)
        f.write(f"{port}\n")
    print(port)


if __name__ == "__main__":
    _main(sys.argv)
