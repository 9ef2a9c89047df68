"""Nothing leaves the machine, the tests' browser included.

Chromium, launched exactly as the browser tests launch it, loads a page from a server on
loopback that asks for outside resources (an image, a script, a fetch, a DNS prefetch), under
`strace -f -yy -e trace=connect,sendto,sendmsg,sendmmsg`. No TCP connection may be attempted
to an address outside 127.0.0.0/8 or ::1 (a TCP connect sends a SYN), and no datagram may be
sent there (DNS lookups to the machine's resolver and DNS over HTTPS included).

One syscall remains that a bare `connect` count would show: Chromium's IPv6 reachability
probe, a UDP `connect()` to Google's public DNS address that sends nothing (it only asks the
kernel for a route), made by the network service at start whatever the flags. The test
reports it and proves that nothing is ever sent on that socket.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import LOOPBACK_ONLY

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><head>
<link rel="dns-prefetch" href="//prefetch.example.org"><link rel="preconnect" href="https://cdn.example.net">
<script src="https://cdn.example.net/lib.js"></script></head>
<body><img src="https://images.example.com/x.png"><p id="done">loaded</p>
<script>fetch("https://api.example.com/ping").catch(() => {});</script></body></html>"""

DRIVER = r"""
import http.server, json, sys, threading, time
from pathlib import Path
from playwright.sync_api import sync_playwright

root, chromium, args = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(root))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium, headless=True, args=args)
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
    page.wait_for_selector("#done")
    time.sleep(4)  # background requests (DNS, DoH, updates) have their chance
    browser.close()
server.shutdown()
print("DRIVER DONE")
"""

CALL = re.compile(r"^\d+ (connect|sendto|sendmsg|sendmmsg)\(\d+<(\w+):\[([^\]]*)\]>(.*)$", re.M)
ADDRESS = re.compile(r'sin6?_port=htons\((\d+)\).*?(?:inet_addr\("([^"]+)"\)|'
                     r'inet_pton\(AF_INET6, "([^"]+)")')


def _loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")


def traffic(trace: str) -> tuple[list[str], list[str]]:
    """(what would leave the machine, UDP connects that sent nothing) in an strace -yy log."""
    leaving, udp_connects = [], {}
    for call, protocol, socket_info, rest in CALL.findall(trace):
        if not protocol.startswith(("TCP", "UDP")):
            continue
        found = ADDRESS.search(rest)
        port, v4, v6 = found.groups() if found else ("", "", "")
        address = v4 or v6
        if not address and "->" in socket_info:  # a send on a connected socket
            address = socket_info.split("->")[1].rsplit(":", 1)[0].strip("[]")
        where = f"{protocol} {address}:{port}"
        if not address or _loopback(address):
            continue
        if call == "connect" and protocol.startswith("UDP"):
            udp_connects[socket_info.split("->")[0]] = where  # no packet yet
        else:
            leaving.append(f"{call} {where}")
    return leaving, sorted(set(udp_connects.values()))


def test_the_trace_reader_sees_what_would_leave() -> None:
    trace = ('1 connect(5<UDP:[11]>, {sa_family=AF_INET, sin_port=htons(53), '
             'sin_addr=inet_addr("10.0.0.2")}, 16) = 0\n'
             '1 sendto(5<UDP:[10.0.0.9:4000->10.0.0.2:53]>, "x", 1, 0, NULL, 0) = 1\n'
             '2 connect(6<TCPv6:[12]>, {sa_family=AF_INET6, sin6_port=htons(443), '
             'sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), '
             'sin6_scope_id=0}, 28) = -1\n'
             '3 connect(7<TCP:[13]>, {sa_family=AF_INET, sin_port=htons(8888), '
             'sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
             '4 connect(8<UDPv6:[14]>, {sa_family=AF_INET6, sin6_port=htons(443), '
             'sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr), '
             'sin6_scope_id=0}, 28) = 0\n')
    leaving, probes = traffic(trace)
    assert leaving == ["sendto UDP 10.0.0.2:", "connect TCPv6 2001:db8::1:443"]
    assert probes == ["UDP 10.0.0.2:53", "UDPv6 2001:4860:4860::8888:443"]


def test_the_browser_connects_to_nothing_but_this_machine(chromium: Path, tmp_path: Path) -> None:
    strace = shutil.which("strace")
    if strace is None:  # ensure_tools.sh installs it with chromium; CI runs it first
        pytest.fail("strace is missing: run tests/browser/ensure_tools.sh")
    (tmp_path / "index.html").write_text(PAGE)
    log = tmp_path / "connect.trace"

    proc = subprocess.run(
        [strace, "-f", "-yy", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", str(log),
         sys.executable, "-c", DRIVER, str(tmp_path), str(chromium), json.dumps(LOOPBACK_ONLY)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "DRIVER DONE" in proc.stdout, proc.stderr[-2000:]
    trace = log.read_text()
    assert re.search(r"connect\(\d+<TCP:.*127\.0\.0\.1", trace), (
        "the trace saw no connection to the page's server: is strace working?")
    leaving, probes = traffic(trace)
    assert leaving == [], f"the browser tried to reach outside this machine: {leaving}"
    assert set(probes) <= {"UDPv6 2001:4860:4860::8888:443"}, probes  # the probe: sends nothing
    print(f"\nnon-loopback traffic: {len(leaving)}; UDP route probes that sent nothing: "
          f"{probes or 'none'}")
