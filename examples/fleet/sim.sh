#!/usr/bin/env bash
# A simulated fleet from a shell, as trevm_testkit::fleet makes it for the tests: a local
# aiocoap-rd and N `trevm serve` devices on loopback ports, each with its own state directory
# (so its own EDHOC identity), all trusting the operator: its EDHOC key is allow-all in the
# devices' peers.yml, its capsule signing key is --trust'ed, and one credentials file has an entry
# per device pinning that device's identity. Runs until Ctrl-C (or until stdin closes), then
# stops everything.
#
#   examples/fleet/sim.sh N [DIR]        # DIR: where keys, logs and state go (default: a temp dir)
#
# Each device registers itself (`trevm serve --rd … --ep devNN --rd-lifetime …`), as a board does.
# Environment: TREVM (default target/release/trevm), RD_LIFETIME (seconds, default 600).
set -euo pipefail
export PATH="$HOME/.local/bin:$PATH"
N=${1:?usage: sim.sh N [DIR]}
DIR=${2:-$(mktemp -d /tmp/trevm-fleet.XXXXXX)}
TREVM=$(realpath "${TREVM:-target/release/trevm}")
RD_LIFETIME=${RD_LIFETIME:-600}
mkdir -p "$DIR"
cd "$DIR"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The operator: an EDHOC key (for talking to devices) and a signing key (for capsules).
[ -f operator.cosekey ] || aiocoap-keygen generate operator.cosekey --kid 01 --subject operator > operator.cred
[ -f op.pem ] || "$TREVM" keygen op > /dev/null
cred=$(cat operator.cred)
kccs=${cred#\{14:}; kccs=${kccs%\}}
cat > peers.yml <<PEERS
- from: unauthenticated
  scope:
    /.well-known/core: GET
- kccs: |
    $kccs
  scope: allow-all
PEERS

rd_port=$(free_port)
aiocoap-rd --bind "127.0.0.1:$rd_port" > rd.log 2>&1 &
pids+=($!)
RD="coap://127.0.0.1:$rd_port"

declare -a eps bases
for i in $(seq 1 "$N"); do
    ep=$(printf 'dev%02d' "$i")
    port=$(free_port)
    mkdir -p "$ep"
    TREVM_STATE_DIR="$DIR/$ep" "$TREVM" serve --listen "127.0.0.1:$port" --policy peers.yml \
        --trust op.pub.pem --rd "$RD" --ep "$ep" --rd-lifetime "$RD_LIFETIME" > "$ep.log" 2>&1 &
    pids+=($!)
    eps+=("$ep"); bases+=("coap://127.0.0.1:$port")
done

# Each device's identity, from its "CoAP server identity:" line (bounded wait).
entries=()
for i in "${!eps[@]}"; do
    ep=${eps[$i]}
    for _ in $(seq 1 300); do
        grep -q 'CoAP server identity: ' "$ep.log" && break
        sleep 0.1
    done
    id=$(grep -m1 'CoAP server identity: ' "$ep.log" | sed 's/.*CoAP server identity: //')
    [ -n "$id" ] || { echo "$ep did not start:"; cat "$ep.log"; exit 1; }
    entries+=("\"${bases[$i]}/*\": {\"edhoc-oscore\": {\"suite\": 2, \"method\": 3, \"own_cred_style\": \"by-key-id\", \"own_cred\": $cred, \"private_key_file\": \"operator.cosekey\", \"peer_cred\": {14: $id}}}")
done
{ echo "{"; (IFS=$'\n'; echo "${entries[*]}" | sed '$!s/$/,/'); echo "}"; } > operator.diag

# Wait until all N are in the RD (bounded).
for _ in $(seq 1 150); do
    n=$(aiocoap-client "$RD/endpoint-lookup/" 2>/dev/null | grep -o 'ep="' | wc -l)
    [ "$n" -ge "$N" ] && break
    sleep 0.2
done
echo "fleet of $N devices registered with $RD (in $DIR)"
echo
echo "  $TREVM fleet ls --rd $RD --credentials $DIR/operator.diag"
echo "  $TREVM build payloads/sandbox -o hello.cwasm && $TREVM sign hello.cwasm --key $DIR/op.pem"
echo "  $TREVM fleet push hello.cwasm --to sandbox/hello --rd $RD --credentials $DIR/operator.diag --canary 2 --parallel 4"
echo
echo "Ctrl-C (or closing stdin) stops the fleet."
# In the background, so that a signal interrupts `wait` and the trap runs at once (stdin
# through fd 3: a background job's own stdin would be /dev/null).
exec 3<&0
cat <&3 > /dev/null &
pids+=($!)
wait $! || true
