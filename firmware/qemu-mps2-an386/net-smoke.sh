#!/usr/bin/env bash
# The network variant end to end: builds the firmware with `--features net`, boots it in QEMU
# (mps2-an386) with the LAN9118 on QEMU's user network and the device's CoAP port forwarded to a
# free host port, then drives it with libcoap's client (Debian's libcoap3-bin): lists
# /.well-known/core, uploads the signed sandbox capsule (~13 KB, Block1 in 1024-byte blocks),
# runs it (GET), replaces it (64-byte blocks) and runs it again, sends 200 garbage datagrams and checks the device still answers. Exit status 0
# means every step passed. Bounded: QEMU runs at most 300 s, each client call at most 60 s.
set -uo pipefail
cd "$(dirname "$0")"

say() { echo "net-smoke: $*"; }

# The build, and where its build script put the signed sandbox capsule.
out_dir=$(cargo build --release --features net --message-format=json-render-diagnostics \
    | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "build-script-executed" and "trevm-firmware-mps2-an386" in m["package_id"]:
        print(m["out_dir"])
') || { say "FAILED: the build failed"; exit 1; }
capsule="$out_dir/sandbox.signed.cwasm"
elf=../../target/thumbv7em-none-eabihf/release/trevm-firmware-mps2-an386
[ -f "$capsule" ] || { say "FAILED: no signed sandbox capsule at $capsule"; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
timeout 300 qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
    -nic "user,model=lan9118,hostfwd=udp:127.0.0.1:$port-:5683" -kernel "$elf" > "$log" 2>&1 &
qemu=$!
cleanup() {
    kill "$qemu" 2>/dev/null
    wait "$qemu" 2>/dev/null
    rm -f "$log"
}
trap cleanup EXIT

fail=0
failed() { say "FAILED: $*"; fail=1; }

# Ready: the device prints this line once its socket is bound (at most 30 s).
ready="board: net: CoAP device listening on udp 10.0.2.15:5683"
for _ in $(seq 300); do
    grep -qF "$ready" "$log" && break
    kill -0 "$qemu" 2>/dev/null || break
    sleep 0.1
done
if ! grep -qF "$ready" "$log"; then
    cat "$log"
    say "FAILED: the device did not come up"
    exit 1
fi
say "device up, CoAP on udp 127.0.0.1:$port"

coap() { timeout 60 coap-client-notls -B 30 "$@"; }
url="coap://127.0.0.1:$port"

links=$(coap -m get "$url/.well-known/core")
case "$links" in
    *"</sandbox>"*) say "GET /.well-known/core → $links" ;;
    *) failed "GET /.well-known/core answered '$links'" ;;
esac

size=$(stat -c %s "$capsule")
if put=$(coap -m put -b 1024 -f "$capsule" "$url/sandbox/hello"); then
    say "PUT /sandbox/hello ($size B, signed, Block1 of 1024 B) → OK $put"
else
    failed "PUT /sandbox/hello ($size B): '$put'"
fi
hello=$(coap -m get "$url/sandbox/hello")
[ "$hello" = "Hello from the sandbox!" ] && say "GET /sandbox/hello → $hello" \
    || failed "GET /sandbox/hello answered '$hello'"
# The same again in 64-byte blocks (~200 datagrams), replacing it.
if put=$(coap -m put -b 64 -f "$capsule" "$url/sandbox/hello"); then
    say "PUT /sandbox/hello again (Block1 of 64 B: a replacement) → OK $put"
else
    failed "PUT /sandbox/hello in 64-byte blocks: '$put'"
fi
hello=$(coap -m get "$url/sandbox/hello")
[ "$hello" = "Hello from the sandbox!" ] && say "GET /sandbox/hello → $hello" \
    || failed "GET /sandbox/hello after the replacement answered '$hello'"

# 200 garbage datagrams: random bytes, random lengths up to 1400, some starting like CoAP.
python3 - "$port" <<'PY'
import random, socket, sys
port = int(sys.argv[1])
rng = random.Random(24)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    n = rng.randrange(0, 1400)
    data = bytes(rng.randrange(256) for _ in range(n))
    if i % 3 == 0 and n >= 4:
        data = bytes([0x40 | rng.randrange(16), rng.choice([1, 2, 3, 4, 0x45])]) + data[2:]
    s.sendto(data, ("127.0.0.1", port))
PY
say "sent 200 garbage datagrams"
hello=$(coap -m get "$url/sandbox/hello")
[ "$hello" = "Hello from the sandbox!" ] && say "after the garbage: GET /sandbox/hello → $hello" \
    || failed "after the garbage: GET /sandbox/hello answered '$hello'"
links=$(coap -m get "$url/.well-known/core")
case "$links" in
    *"</sandbox>"*"hello"*) say "after the garbage: GET /.well-known/core lists the capsule" ;;
    *"</sandbox>"*) say "after the garbage: GET /.well-known/core → $links" ;;
    *) failed "after the garbage: GET /.well-known/core answered '$links'" ;;
esac

kill -0 "$qemu" 2>/dev/null || failed "QEMU is gone"
if grep -qE "panic|HardFault|network: " "$log"; then
    failed "the firmware reported a failure"
fi
# The measurement task prints when the stack or heap mark grows (every 2 s at most).
sleep 3
grep -F "board: measure: main stack" "$log" | tail -1 | sed 's/^/net-smoke: /'
if [ "$fail" -ne 0 ]; then
    cat "$log"
    exit 1
fi
say "OK"
