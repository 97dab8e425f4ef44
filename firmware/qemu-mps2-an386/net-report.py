#!/usr/bin/env python3
"""Measures the network firmware (feature `net`) and writes its section of docs/footprint.md.

One command: `firmware/qemu-mps2-an386/net-report.py` (about 3 minutes once the firmware's
dependencies are built). It builds the firmware with a fresh operator credential in its
peers.yml, boots it with `serve.sh --measure` (QEMU `-icount shift=0`: one instruction per
nanosecond of virtual time, so the firmware's SysTick counts instructions), drives it with the
clients users use (`trevm` with EDHOC + OSCORE, libcoap's `coap-client-notls` without security)
and reads the cost of each exchange the device prints; then boots it again on the same flash,
registering with an `aiocoap-rd`, for what the registration costs. `--rd-throughout` runs the
same sequence with the device registered from the start and only prints the heap's peak and
the last upload's answer (docs/footprint.md quotes it). Needs what CI installs (qemu-system-arm,
libcoap3-bin, aiocoap[oscore]) and `target/release/trevm` (built if missing).
"""

import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TREVM = ROOT / "target" / "release" / "trevm"
DOC = ROOT / "docs" / "footprint.md"
BEGIN = "<!-- net-report.py: begin -->"
END = "<!-- net-report.py: end -->"
EXCHANGE = re.compile(
    r"measure: exchange (\d+) B in, (\d+) B out: (\d+) instructions; heap in use (\d+) B, "
    r"peak (\d+) B; main stack high-water (\d+) B"
)
RD_ANSWER = re.compile(r"measure: rd answer (\d+) B in, (\d+) B out: (\d+) instructions")


def run(args, cwd=None, timeout=600, check=True):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        sys.exit(f"net-report: {' '.join(map(str, args))} failed:\n{p.stdout}{p.stderr}")
    return p


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sections(elf):
    out = run(["size", "-A", str(elf)]).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


class Device:
    """The firmware in QEMU, its console in a file, read line by line."""

    def __init__(self, state, port, peers, rd_port=None):
        self.port = port
        self.log = open(state / "console.txt", "a+")
        rd = [] if rd_port is None else ["--rd", str(rd_port), "--ep", "net-report"]
        self.proc = subprocess.Popen(
            [str(HERE / "serve.sh"), "--port", str(port), "--state", str(state), "--measure",
             "--peers", str(peers), *rd],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.seen = self.booted = len(self.lines())
        self.wait_for("net: CoAP device listening on", 120)

    def lines(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read().splitlines()

    def wait_for(self, needle, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines()[self.booted:]:
                if needle in line:
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        sys.exit(f"net-report: no `{needle}` from the device:\n" + "\n".join(self.lines()))

    def exchanges(self):
        """The exchanges measured since the last call."""
        time.sleep(0.3)  # the console line follows the answer the client already has
        lines = self.lines()
        new = lines[self.seen :]
        self.seen = len(lines)
        return [tuple(map(int, m.groups())) for m in map(EXCHANGE.search, new) if m]

    def rd_answers(self):
        """The RD answers handled since boot: (bytes in, bytes sent next, instructions)."""
        lines = self.lines()[self.booted :]
        return [tuple(map(int, m.groups())) for m in map(RD_ANSWER.search, lines) if m]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        subprocess.run(["pkill", "-f", f"hostfwd=udp:127.0.0.1:{self.port}-"], check=False)


def main():
    for tool in ["qemu-system-arm", "coap-client-notls", "aiocoap-client", "aiocoap-keygen",
                 "aiocoap-rd", "size"]:
        if not shutil.which(tool):
            sys.exit(f"net-report: {tool} is missing (see .ci/run)")
    if not TREVM.exists():
        run(["cargo", "build", "--release", "-p", "trevm-cli"], cwd=ROOT, timeout=3600)
    work = Path(tempfile.mkdtemp(prefix="trevm-net-report-"))
    try:
        report(work)
    except SystemExit:
        console = work / "state" / "console.txt"
        if console.exists():
            kept = Path(tempfile.gettempdir()) / "net-report-console.txt"
            shutil.copy(console, kept)
            print("net-report: the device's console (all of it in " + str(kept) + "):\n"
                  + console.read_text()[-6000:], file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(work):
    cred = run(
        ["aiocoap-keygen", "generate", "operator.cosekey", "--kid", "2b", "--subject", "operator"],
        cwd=work,
    ).stdout.strip()
    kccs = cred[len("{14:") : -1]
    (work / "peers.yml").write_text(
        "- from: unauthenticated\n  scope:\n    /.well-known/core: GET\n    /sandbox/*: GET\n"
        f"- kccs: |\n    {kccs}\n  scope: allow-all\n"
    )
    elf = Path(
        run([str(HERE / "serve.sh"), "--build-only", "--peers", str(work / "peers.yml")], timeout=3600)
        .stdout.strip()
        .splitlines()[-1]
    )
    size = sections(elf)
    capsules = {}
    for name in ["sandbox", "coap-counter", "updates-one"]:
        path = work / f"{name}.cwasm"
        run([str(TREVM), "build", str(ROOT / "payloads" / name), "--target", "pulley32", "-o", str(path)])
        capsules[name] = path

    port = free_port()
    state = work / "state"
    state.mkdir()
    # A Resource Directory the device registers with (docs/fleet.md).
    rd_port = free_port()
    rd = subprocess.Popen(["aiocoap-rd", "--bind", f"127.0.0.1:{rd_port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        measure(work, cred, size, capsules, state, port, rd_port)
    finally:
        rd.terminate()


def measure(work, cred, size, capsules, state, port, rd_port):
    # The exchanges' figures without an RD (comparable with earlier reports); with
    # --rd-throughout, the same sequence with the device registered (only printed).
    throughout = "--rd-throughout" in sys.argv
    device = Device(state, port, work / "peers.yml", rd_port if throughout else None)
    base = f"coap://127.0.0.1:{port}"
    heap_line = device.wait_for("; heap of ", 10)
    identity = device.wait_for("CoAP server identity: ", 10).split("CoAP server identity: ")[1]
    (work / "client.diag").write_text(
        f'{{"{base}/*": {{"edhoc-oscore": {{"suite": 2, "method": 3, '
        f'"own_cred_style": "by-key-id", "own_cred": {cred}, '
        f'"private_key_file": "operator.cosekey", "peer_cred": {{14: {identity}}}}}}}}}'
    )
    creds = ["--credentials", str(work / "client.diag")]
    device.exchanges()
    rows = []
    try:
        run(["coap-client-notls", "-B", "30", f"{base}/.well-known/core"], timeout=60)
        static = device.exchanges()
        rows.append(("static GET of `/.well-known/core` (no security)", static[-1][2]))

        run([str(TREVM), "push", str(capsules["sandbox"]), f"{base}/sandbox/hello", *creds], cwd=work)
        push = device.exchanges()
        rows.append(("EDHOC message 1 → message 2 (ephemeral key, two P-256 ECDH)", push[0][2]))
        rows.append(
            (
                f"upload of the {capsules['sandbox'].stat().st_size:,}-byte sandbox capsule: "
                f"{len(push) - 1} Block1 exchanges inside OSCORE, the first with EDHOC message 3",
                sum(e[2] for e in push[1:]),
            )
        )
        rows.append(("… of which the last block → 2.01 (verify, load, check its links and exports, store)", push[-1][2]))

        run(["coap-client-notls", "-B", "30", f"{base}/sandbox/hello"], timeout=60)
        rows.append(("capsule GET of `/sandbox/hello` (no security; instantiate, run)", device.exchanges()[-1][2]))
        run([str(TREVM), "call", f"{base}/sandbox/hello", *creds], cwd=work)
        call = device.exchanges()
        rows.append(("the same inside OSCORE, with EDHOC message 3 (a new client)", call[-1][2]))

        counter = capsules["coap-counter"]
        run([str(TREVM), "push", str(counter), f"{base}/vm-control", *creds], cwd=work)
        persistent = device.exchanges()
        rows.append(
            (
                f"upload of the {counter.stat().st_size:,}-byte persistent capsule to `/vm-control`: "
                "the last block → 2.04 (verify, load, instantiate, initialise, store)",
                persistent[-1][2],
            )
        )
        # Two capsules instantiated (the persistent one, and one in the ephemeral slot that
        # sleeps in a loop) and one upload in flight: a sandbox capsule, reassembled, verified,
        # loaded and probed (instantiated once) at its last block.
        run([str(TREVM), "push", str(capsules["updates-one"]), f"{base}/ephemeral", *creds], cwd=work)
        device.exchanges()
        run(["aiocoap-client", "-m", "DELETE", f"{base}/sandbox/hello", *creds], cwd=work, timeout=60)
        device.exchanges()
        big = capsules["sandbox"]
        last = run([str(TREVM), "push", str(big), f"{base}/sandbox/again", *creds], cwd=work, check=False)
        outcome = (last.stdout + last.stderr).strip().splitlines()[-1]
        loaded = device.exchanges()
    finally:
        device.stop()
    if throughout:
        print(f"registered with an RD throughout: heap peak {max(e[4] for e in loaded):,} B; "
              f"the last upload's answer: {outcome}")
        return
    # Booted again on the same flash, registering with the RD: the first registration names
    # the capsules restored; then, with the sandbox capsule deleted, one with fewer.
    device = Device(state, port, work / "peers.yml", rd_port)
    try:
        device.wait_for("rd: registered", 60)
        links = run(["aiocoap-client", f"coap://127.0.0.1:{rd_port}/resource-lookup/?rt=trevm.capsule"])
        capsule_links = links.stdout.count('rt="trevm.capsule"')
        registration = device.rd_answers()
    finally:
        device.stop()
    rows.append((
        f"Resource Directory (`serve.sh --rd`): its discovery answer ({registration[0][0]} B) → "
        f"the registration ({registration[0][1]} B, {capsule_links} capsule links) sent",
        registration[0][2]))
    rows.append((f"… the RD's 2.01 ({registration[1][0]} B) handled", registration[1][2]))

    peak = max(e[4] for e in loaded)
    stack = max(e[5] for e in loaded)
    text, rodata, data, bss = (size.get(s, 0) for s in [".text", ".rodata", ".data", ".bss"])
    heap = int(re.search(r"heap of (\d+) B", heap_line).group(1))
    ram = 256 * 1024
    stack_room = ram - data - bss
    rustc = run(["rustc", "--version"]).stdout.strip()
    qemu = run(["qemu-system-arm", "--version"]).stdout.splitlines()[0]
    num = lambda n: f"{n:,}"
    out = [
        BEGIN,
        "## The network device (feature `net`, opt-level z)",
        "",
        f"Generated by `firmware/qemu-mps2-an386/net-report.py` on {time.strftime('%Y-%m-%d')} — {rustc}, {qemu}.",
        "The firmware of [`bare-metal.md`](bare-metal.md#the-network-device): the three slots behind",
        "EDHOC + OSCORE, the flash store, embassy-net on the LAN9118, linked for an nRF52840",
        "(`memory-net.x`: 832 KiB of flash for the image and 192 KiB for the store, 256 KiB of RAM).",
        "",
        "| | bytes | goal |",
        "|---|---:|---|",
        f"| flash: `.text` | {num(text)} | |",
        f"| flash: `.rodata` | {num(rodata)} | |",
        f"| flash: image (`.text` + `.rodata` + `.data`) | {num(text + rodata + data)} | ≤ 524,288: {'met' if text + rodata + data <= 524288 else 'not met'} |",
        f"| RAM: static (`.data` + `.bss`, the {num(heap)}-byte heap included) | {num(data + bss)} | |",
        f"| RAM: left for the main stack | {num(stack_room)} | |",
        f"| RAM: main stack high-water | {num(stack)} | |",
        f"| RAM: heap peak, two capsules instantiated (persistent `coap-counter`, ephemeral `updates-one`) and a {num(big.stat().st_size)}-byte sandbox upload finishing | {num(peak)} | |",
        f"| RAM: in use at that peak (static + heap peak + stack high-water) | {num(data + bss - heap + peak + stack)} | ≤ 196,608: {'met' if data + bss - heap + peak + stack <= 196608 else 'not met'} |",
        "",
        f"That upload's answer: `{outcome}`.",
        "",
        "Instructions per exchange, from the datagram's arrival to the answer's departure, through",
        "the network path (embassy-net, trevm-coap's server, the security layer):",
        "",
        "| exchange | instructions |",
        "|---|---:|",
    ]
    out += [f"| {what} | {num(n)} |" for what, n in rows]
    out += [END]
    text_doc = DOC.read_text()
    if BEGIN in text_doc:
        head, rest = text_doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text_doc = head + "\n".join(out) + tail
    else:
        text_doc = text_doc.rstrip("\n") + "\n\n" + "\n".join(out) + "\n"
    DOC.write_text(text_doc)
    print("\n".join(out))


if __name__ == "__main__":
    main()
