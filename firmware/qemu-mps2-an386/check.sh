#!/usr/bin/env bash
# Builds the firmware, boots it in QEMU (mps2-an386, Cortex-M4) with a time limit, and checks its
# semihosting output and exit status. Used by CI; prints the firmware's output. It is the full
# firmware: the capsules (Pulley and, feature `wasmi`, plain wasm on wasmi: both default), and the
# CoAP device behind EDHOC + OSCORE (feature `coap-oscore`).
set -uo pipefail
cd "$(dirname "$0")"
cargo build --release --features coap-oscore || exit 1
# CARGO_TARGET_DIR, when set, overrides .cargo/config.toml's target directory.
elf=${CARGO_TARGET_DIR:-../../target}/thumbv7em-none-eabihf/release/trevm-firmware-mps2-an386
out=$(mktemp)
timeout 120 qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
    -kernel "$elf" > "$out" 2>&1
status=$?
cat "$out"
fail=0
if [ "$status" -ne 0 ]; then
    echo "firmware: FAILED: QEMU exit status $status (0 expected; 124 means it hung)"
    fail=1
fi
for expected in \
    "board: fibonacci(20) = 6765" \
    "board: wasmi: fibonacci(20) = 6765 (plain wasm, validated and translated here; provider wasmi, runtime made for pulley32" \
    "board: wasmi: bench-work fib(20) = 0x00001a6d" \
    "board: wasmi: bench-work fib(40) stopped by its fuel budget (" \
    "board: measure: fp.calibration.leak = 1; fp.calibration.guarded_leak = 0 (guard active: true)" \
    "fp.clobbered = 0 (d8–d15 changed across a poll of the capsule call); guest float result exact: true" \
    "gpio: No button on this board: blinking every 500 ms instead" \
    "board: LED0 on  (toggle 1; FPGA-IO LED register reads 0x1)" \
    "board: LED0 off (toggle 2; FPGA-IO LED register reads 0x0)" \
    "board: blinky stopped by its timeout after" \
    "board: tampered capsule refused: capsule payload does not match the SHA-256 digest it was signed with" \
    "board: signed capsule \`async-bindings\` (" \
    "verified: version " \
    "async-bindings: Hello from inside the capsule" \
    "async-bindings: Now sleeping for 3 seconds" \
    "async-bindings: Starting an infinite loop" \
    "board: async-bindings stopped by its 5 s timeout" \
    "board: CoAP server identity: {8: {1: {1: 2, 2: h'', -1: 1, -2: h'" \
    "board: coap: GET /.well-known/core → 2.05 </sandbox>" \
    "board: coap: made this device's identity and kept it in the flash store" \
    "board: coap: PUT /sandbox/hello (" \
    "board: coap: GET /sandbox/hello → 2.05 Hello from the sandbox!" \
    "board: coap: a stranger's DELETE /sandbox/hello → 4.01 Unauthorized" \
    "board: coap: EDHOC message 1 → 2.04 with message 2" \
    "board: coap: a garbled EDHOC message 1 → 4." \
    "board: coap: EDHOC message 1 whose G_X is not on P-256 → 4.00 EDHOC G_X is not a point on P-256 (the device goes on)" \
    "board: coap: a flood of 1000 EDHOC message 1 from one peer: " \
    "board: coap: resetting the board (SYSRESETREQ); the flash store keeps the capsule" \
    "board: coap: restored sandbox capsule \`hello\` (version " \
    "board: coap: after the reset: GET /sandbox/hello → 2.05 Hello from the sandbox!" \
    "board: all capsules behaved as expected"; do
    if ! grep -qF -- "$expected" "$out"; then
        echo "firmware: FAILED: missing output line: $expected"
        fail=1
    fi
done
numbers=$(grep -cE '\] async-bindings: [0-9]{1,2}$' "$out")
if [ "$numbers" -ne 10 ]; then
    echo "firmware: FAILED: expected 10 random numbers from the capsule, saw $numbers"
    fail=1
fi
# The identity is made once and kept: made on the first boot only, the same one printed after the
# reset.
identities=$(grep -F "board: CoAP server identity: " "$out" | sed 's/.*identity: //' | sort -u | wc -l)
if [ "$(grep -cF "board: CoAP server identity: " "$out")" -ne 2 ] || [ "$identities" -ne 1 ] \
    || [ "$(grep -cF "made this device's identity" "$out")" -ne 1 ]; then
    echo "firmware: FAILED: expected the same CoAP server identity before and after the reset"
    fail=1
fi
rm -f "$out"
[ "$fail" -eq 0 ] && echo "firmware: QEMU run OK"
exit "$fail"
