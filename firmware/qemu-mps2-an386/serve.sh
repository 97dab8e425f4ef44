#!/usr/bin/env bash
# Starts the network firmware (feature `net`) in QEMU as a CoAP device reachable from this host:
# the Cortex-M4 board (mps2-an386) with its LAN9118 Ethernet on QEMU's user network, the device's
# CoAP port (10.0.2.15:5683) forwarded to 127.0.0.1:PORT. Clients use it like `trevm serve`'s
# device: `trevm push CAPSULE coap://127.0.0.1:PORT/sandbox/NAME --credentials client.diag`.
#
#   serve.sh [--port PORT] [--state DIR] [--peers PEERS.yml] [--rd PORT --ep NAME [--rd-lifetime S]]
#            [--measure] [--build-only]
#
# --port   host port (default 5683)
# --state  where the board's flash image (trevm-flash.img: uploaded capsules, ledgers, the
#          device's identity) and the QEMU monitor socket (monitor.sock; `system_reset` resets
#          the board) live (default $XDG_STATE_HOME/trevm/qemu-mps2-an386, else
#          ~/.local/state/trevm/qemu-mps2-an386)
# --peers  the access policy compiled into the firmware, an Ariel OS peers.yml (default: the
#          environment's TREVM_PEERS, else the secure default: unauthenticated clients may only
#          GET /.well-known/core)
# --rd     register with the CoAP Resource Directory listening on this host's 127.0.0.1:PORT
#          (e.g. `aiocoap-rd --bind 127.0.0.1:5690`): the board reaches it as 10.0.2.2:PORT and
#          registers as --ep NAME with base coap://127.0.0.1:<--port>, refreshing every
#          3/4 of --rd-lifetime seconds (default 600); docs/fleet.md
# --measure  count instructions (QEMU -icount shift=0) and print each exchange's cost and the
#          heap's and stack's state (net-report.sh uses this)
# --build-only  build, print the firmware's path, do not start it
#
# The firmware trusts capsules signed by this machine's development key (the one `trevm build`
# signs with) and runs capsules built for pulley32 (`trevm build --target pulley32`). It is built
# at opt-level z, which its 1 MiB flash budget needs (memory-net.x). QEMU runs in the foreground
# until killed (Ctrl-C); the device's console is printed here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

port=5683
state="${XDG_STATE_HOME:-$HOME/.local/state}/trevm/qemu-mps2-an386"
peers="${TREVM_PEERS:-}"
build_only=0
rd_port=
ep=
rd_lifetime=600
measure=()
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port=$2; shift 2 ;;
        --state) state=$2; shift 2 ;;
        --peers) peers=$2; shift 2 ;;
        --rd) rd_port=$2; shift 2 ;;
        --ep) ep=$2; shift 2 ;;
        --rd-lifetime) rd_lifetime=$2; shift 2 ;;
        --measure) measure=(-icount shift=0); shift ;;
        --build-only) build_only=1; shift ;;
        -h | --help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "serve.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -n "$peers" ]; then
    [ -f "$peers" ] || { echo "serve.sh: no peers file $peers" >&2; exit 2; }
    TREVM_PEERS=$(cd "$(dirname "$peers")" && pwd)/$(basename "$peers")
    export TREVM_PEERS
else
    unset TREVM_PEERS
fi

echo "serve.sh: building the network firmware (opt-level z)…" >&2
(cd "$here" && cargo build --release --no-default-features --features net --config 'profile.release.opt-level="z"' >&2)
# CARGO_TARGET_DIR, when set, overrides .cargo/config.toml's target directory (as for cargo).
elf=$(cd "$here" && cd "${CARGO_TARGET_DIR:-../../target}/thumbv7em-none-eabihf/release" && pwd)/trevm-firmware-mps2-an386
if [ "$build_only" -eq 1 ]; then
    echo "$elf"
    exit 0
fi

mkdir -p "$state"
cd "$state"
echo "serve.sh: state in $state (trevm-flash.img, monitor.sock)"
echo "serve.sh: listening on coap://127.0.0.1:$port (forwarded to the board's 10.0.2.15:5683)"
# The firmware reads its options from the semihosting command line, `key=value` words.
semihosting=enable=on,target=native,arg=firmware
[ ${#measure[@]} -eq 0 ] || semihosting="$semihosting,arg=measure"
if [ -n "$rd_port" ]; then
    [ -n "$ep" ] || { echo "serve.sh: --rd needs --ep NAME" >&2; exit 2; }
    semihosting="$semihosting,arg=rd=10.0.2.2:$rd_port,arg=ep=$ep,arg=base=coap://127.0.0.1:$port,arg=lt=$rd_lifetime"
    echo "serve.sh: registering as $ep with the resource directory at 127.0.0.1:$rd_port"
fi
exec qemu-system-arm -M mps2-an386 -display none -serial none "${measure[@]}" \
    -monitor "unix:$state/monitor.sock,server,nowait" \
    -semihosting-config "$semihosting" \
    -nic "user,model=lan9118,hostfwd=udp:127.0.0.1:$port-:5683" \
    -kernel "$elf"
