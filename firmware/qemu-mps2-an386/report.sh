#!/usr/bin/env bash
# Regenerates docs/footprint.md: builds the firmware's footprint variants at opt-level s and z,
# measures their sections, runs them in QEMU under `-icount shift=0` (deterministic instruction
# counts) and writes the tables. Takes about 25 minutes on 2 cores (each variant compiles
# Wasmtime for the MCU with fat LTO). Needs qemu-system-arm and readelf.
#
#   firmware/qemu-mps2-an386/report.sh            # writes docs/footprint.md
#   REPORT_TARGET_DIR=/tmp/t firmware/...          # build elsewhere (default: target/footprint)
#   REPORT_SKIP_RUNS=1 firmware/...                 # only rewrite the page from the last runs
#   REPORT_ONLY=wasmi firmware/...                  # only the wasmi variants (trevm, trevm-wasmi,
#                                                   # trevm-both): builds and runs them and rewrites
#                                                   # only the page's wasmi section (~10 minutes)
#   REPORT_OPTS="z" REPORT_ONLY=wasmi firmware/...  # the same at opt-level z only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
target_dir=${REPORT_TARGET_DIR:-$root/target/footprint}
# ELFs and QEMU outputs of the last run stay here, so the page can be rewritten without rebuilding.
work=$target_dir/report-work
mkdir -p "$work"
out=$root/docs/footprint.md
# net-report.py writes its own section of the same file (between its markers); keep it.
net_section=$(sed -n '/<!-- net-report.py: begin -->/,/<!-- net-report.py: end -->/p' "$out" 2>/dev/null || true)
elf_name=trevm-firmware-mps2-an386
triple=thumbv7em-none-eabihf
qemu=(qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native)

# variant name → cargo feature arguments. **trevm** and the variants measured against it have
# Wasmtime + Pulley only (the default features add wasmi: **trevm-both**).
declare -A features=(
    [baseline]="--no-default-features"
    [wasmtime-core]="--no-default-features --features bare-core"
    [wasmtime-sync]="--no-default-features --features bare-sync"
    [wasmtime-async]="--no-default-features --features bare-async"
    [trevm]="--no-default-features --features runtime,signed"
    [trevm-wasmi]="--no-default-features --features wasmi"
    [trevm-both]=""
    [trevm-unsigned]="--no-default-features --features runtime"
    [trevm-coap]="--no-default-features --features coap"
    [trevm-oscore]="--no-default-features --features coap-oscore"
)
variants=(baseline wasmtime-core wasmtime-sync wasmtime-async trevm trevm-wasmi trevm-both)
wasmi_variants=(trevm trevm-wasmi trevm-both)
opts=(${REPORT_OPTS:-s z})

build() { # variant opt [extra rustflags | simd | tail] → copies the ELF to $work/<variant>-<opt>[-…].elf
    # Every variant is built as devices are: Pulley without its SIMD opcodes (.cargo/config.toml
    # says the same; RUSTFLAGS replace it). `simd` builds it with them, to show what they cost.
    # `tail` builds it with nightly Rust and Pulley's guaranteed tail-call dispatch (its capsules
    # still built with stable, as in every other variant; its own target directory).
    local variant=$1 opt=$2 extra=${3:-} flags="--cfg pulley_disable_interp_simd" tag=$1-$2
    local toolchain=() dir=$target_dir
    case $extra in
        "") ;;
        simd) flags=""; tag=$tag-simd ;;
        tail) flags="$flags --cfg pulley_tail_calls"; tag=$tag-tail; toolchain=(+nightly); dir=$target_dir-nightly ;;
        *) flags="$flags $extra"; tag=$tag-unguarded ;;
    esac
    echo "report: building $tag" >&2
    # shellcheck disable=SC2086
    TREVM_CAPSULE_TOOLCHAIN=stable RUSTFLAGS="$flags" cargo "${toolchain[@]}" build --release --quiet \
        --target-dir "$dir" --config "profile.release.opt-level=\"$opt\"" ${features[$variant]} >&2
    cp "$dir/$triple/release/$elf_name" "$work/$tag.elf"
}

# The nightly variant needs a nightly toolchain with the Cortex-M target; without it the report
# says so and leaves its column empty.
nightly_ok() { rustup +nightly target list --installed 2>/dev/null | grep -qx "$triple"; }

section() { # elf section → size in bytes (0 if absent)
    local hex
    # `[ 2] .text PROGBITS addr off size …`: the size is the 4th field after the name.
    hex=$(readelf -SW "$1" | awk -v s="$2" '{ for (i = 1; i <= NF; i++) if ($i == s) { print $(i + 4); exit } }')
    echo $((16#${hex:-0}))
}

run() { # tag → QEMU output under -icount (exit status checked)
    echo "report: running $1 under -icount shift=0" >&2
    if ! timeout 600 "${qemu[@]}" -icount shift=0,sleep=off -kernel "$work/$1.elf" > "$work/$1.out" 2>&1; then
        cat "$work/$1.out" >&2
        echo "report: $1 failed in QEMU" >&2
        exit 1
    fi
}

measure() { # tag key → the first number on its `measure: key = N` line
    sed -n "s/.*[ :;]$2 = \([0-9]*\).*/\1/p" "$work/$1.out" | head -n1
}

if [ -z "${REPORT_SKIP_RUNS:-}" ] && [ "${REPORT_ONLY:-}" = wasmi ]; then
    for opt in "${opts[@]}"; do
        for v in "${wasmi_variants[@]}"; do
            build "$v" "$opt"
            run "$v-$opt"
        done
    done
elif [ -z "${REPORT_SKIP_RUNS:-}" ]; then
    for opt in s z; do
        for v in "${variants[@]}"; do
            build "$v" "$opt"
            run "$v-$opt"
        done
    done
    build trevm s "--cfg trevm_unguarded_fp"
    run trevm-s-unguarded
    # Pulley with guaranteed tail calls (nightly): the same workloads.
    if nightly_ok; then
        build trevm s tail
        run trevm-s-tail
    else
        echo "report: no nightly toolchain with $triple: skipping the tail-call variant" >&2
        rm -f "$work/trevm-s-tail.out"
    fi
    # Pulley's SIMD opcodes compiled in (what a build without the flag gets).
    build trevm z simd
    # The same firmware without signature verification: what the verifier costs in flash.
    build trevm-unsigned s
    # The CoAP device, plain and behind EDHOC + OSCORE: what each costs on top of the firmware.
    for v in trevm-coap trevm-oscore; do
        build "$v" s
        run "$v-s"
    done
fi

heap_size=$((1024 * 1024))
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
num() { echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }
instr() { local c; c=$(measure "$1" "$2"); [ -n "$c" ] && num $((c * 40)) || echo "–"; }

# The wasmi section (issue 27): part of the page, or with REPORT_ONLY=wasmi written alone between
# its markers in the existing page. Reads the trevm, trevm-wasmi and trevm-both runs of each
# opt-level that has all three.
wasmi_section() {
    local o w opts_done=() hopt
    for o in s z; do
        [ -f "$work/trevm-$o.out" ] && [ -f "$work/trevm-wasmi-$o.out" ] && [ -f "$work/trevm-both-$o.out" ] && opts_done+=("$o")
    done
    [ ${#opts_done[@]} -gt 0 ] || { echo "report: no wasmi runs in $work" >&2; exit 1; }
    hopt=${opts_done[0]}
    xr() { # a b → "N.N×" or –
        if [ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt 0 ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; else echo "–"; fi
    }
    flash_of() { echo $(( $(section "$1" .text) + $(section "$1" .rodata) + $(section "$1" .data) )); }
    echo "<!-- report.sh wasmi: begin -->"
    echo "## The second VM provider: wasmi"
    echo
    echo "trevm's wasmi provider (feature \`wasmi\` of trevm and of this firmware; wasmi 2.0) runs"
    echo "*plain wasm* capsules (\`trevm build --vm wasmi\`): wasmi validates them and translates them"
    echo "into its own bytecode on the device, eagerly, when they are loaded; fuel preemption in"
    echo "resumable slices of \`Limits::yield_interval\` (10,000 wasmi units, about one per wasm"
    echo "instruction). Variants (same build settings as above):"
    echo
    echo "- **trevm** — as above: Wasmtime + Pulley only (\`--no-default-features --features runtime,signed\`);"
    echo "- **trevm-wasmi** — trevm with wasmi alone, no Wasmtime in the image"
    echo "  (\`--no-default-features --features wasmi\`: trevm with \`default-features = false\`,"
    echo "  \`wasmi\`, \`log\`, \`time\`, \`rng\`, \`gpio\`): fibonacci and bench-work as plain-wasm"
    echo "  capsules, and one stopped by its fuel budget while another task runs"
    echo "  (\`src/wasmi_capsules.rs\`); none of **trevm**'s other demos (call costs, FP probe, blinky,"
    echo "  async-bindings, signature verification);"
    echo "- **trevm-both** — the default features: **trevm** plus those wasmi stages, the plain-wasm"
    echo "  capsules run by a runtime made for pulley32 (one runtime takes both kinds). CI's"
    echo "  \`check.sh\` runs this plus the CoAP device (\`--features coap-oscore\`)."
    echo
    echo "Made by \`REPORT_ONLY=wasmi firmware/qemu-mps2-an386/report.sh\` (or the full run): per variant"
    echo "and opt-level, \`cargo build --release --config 'profile.release.opt-level=\"…\"'\` with the"
    echo "features above, sections by \`readelf -SW\`, and the \`measure:\` lines of its run under"
    echo "\`qemu-system-arm -M mps2-an386 -icount shift=0,sleep=off\`."
    echo
    echo "### Flash (bytes)"
    echo
    echo "\`.rodata\` includes the embedded capsules: the plain-wasm fibonacci is"
    echo "$(num "$(measure "trevm-wasmi-$hopt" capsule.wasmi.fibonacci)") B and bench-work $(num "$(measure "trevm-wasmi-$hopt" capsule.wasmi.bench-work)") B (Pulley's:"
    echo "$(num "$(measure "trevm-$hopt" capsule.fibonacci)") B and $(num "$(measure "trevm-$hopt" capsule.bench-work)") B)."
    echo
    echo "| variant | opt | .text | .rodata | .data | flash (.text+.rodata+.data) | Δ .text vs trevm | Δ flash vs trevm |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    for o in "${opts_done[@]}"; do
        local tt tf
        tt=$(section "$work/trevm-$o.elf" .text); tf=$(flash_of "$work/trevm-$o.elf")
        for v in trevm trevm-wasmi trevm-both; do
            local elf=$work/$v-$o.elf t f
            t=$(section "$elf" .text); f=$(flash_of "$elf")
            echo "| $v | $o | $(num "$t") | $(num "$(section "$elf" .rodata)") | $(num "$(section "$elf" .data)") | $(num "$f") | $(num $((t - tt))) | $(num $((f - tf))) |"
        done
    done
    echo
    local zo=${opts_done[-1]}
    local tw tp tb fw fp fb
    tw=$(section "$work/trevm-wasmi-$zo.elf" .text); tp=$(section "$work/trevm-$zo.elf" .text); tb=$(section "$work/trevm-both-$zo.elf" .text)
    fw=$(flash_of "$work/trevm-wasmi-$zo.elf"); fp=$(flash_of "$work/trevm-$zo.elf"); fb=$(flash_of "$work/trevm-both-$zo.elf")
    echo "| goal (opt-level $zo) | measured | target | |"
    echo "|---|---:|---:|---|"
    echo "| flash of the firmware with wasmi alone ≤ the Wasmtime variant's (**trevm-wasmi** vs **trevm**) | $(num "$fw") | $(num "$fp") | $( [ "$fw" -le "$fp" ] && echo met || echo "not met") |"
    echo "| \`.text\` of the same | $(num "$tw") | $(num "$tp") | $( [ "$tw" -le "$tp" ] && echo met || echo "not met") |"
    echo "| flash of the firmware with both providers (**trevm-both**) | $(num "$fb") | reported | $(num $((fb - fp))) B more than **trevm** |"
    echo
    echo "**trevm-wasmi** runs less demo code than **trevm** (above); the Ed25519 verifier alone is"
    echo "about 26 KB of **trevm**'s \`.text\` (section *Capsule verification*). **trevm-both** minus"
    echo "**trevm** is what wasmi costs beside Pulley: the provider (wasmi, wasmparser, trevm's"
    echo "canonical ABI and host imports for it) and the small wasmi stage of the demo."
    echo
    echo "### Heap (bytes, opt-level $hopt)"
    echo
    echo "Pulley runs its precompiled code in place from flash; wasmi keeps the bytecode it"
    echo "translated on the heap. Fibonacci: since before its runtime was made (engine and linker of"
    echo "a runtime with that provider alone: Pulley's from **trevm**, wasmi's from **trevm-wasmi**);"
    echo "bench-work: since before it was loaded, into the runtime the other capsules use. Linear"
    echo "memory (fibonacci 2 KiB, bench-work 28 KiB) is allocated per instance."
    echo
    echo "| stage | fibonacci, Pulley | fibonacci, wasmi | bench-work, Pulley | bench-work, wasmi |"
    echo "|---|---:|---:|---:|---:|"
    echo "| engine + linker | $(num "$(measure "trevm-$hopt" heap.fib.engine)") | $(num "$(measure "trevm-wasmi-$hopt" heap.wasmi.fib.engine)") | – | – |"
    echo "| peak while loading (wasmi: validating and translating) | – | $(num "$(measure "trevm-wasmi-$hopt" heap.wasmi.fib.load_peak)") | – | $(num "$(measure "trevm-wasmi-$hopt" heap.wasmi.work.load_peak)") |"
    echo "| after load (Pulley: deserialize in place; wasmi: translated) | $(num "$(measure "trevm-$hopt" heap.fib.deserialized)") | $(num "$(measure "trevm-wasmi-$hopt" heap.wasmi.fib.loaded)") | $(num "$(measure "trevm-$hopt" heap.work.deserialized)") | $(num "$(measure "trevm-wasmi-$hopt" heap.wasmi.work.loaded)") |"
    echo "| after instantiate | $(num "$(measure "trevm-$hopt" heap.fib.instantiated)") | $(num "$(measure "trevm-wasmi-$hopt" heap.wasmi.fib.instantiated)") | $(num "$(measure "trevm-$hopt" heap.work.instantiated)") | $(num "$(measure "trevm-wasmi-$hopt" heap.wasmi.work.instantiated)") |"
    echo "| peak during fibonacci(20) | $(num "$(measure "trevm-$hopt" heap.fib.call_peak)") | $(num "$(measure "trevm-wasmi-$hopt" heap.wasmi.fib.call_peak)") | – | – |"
    echo
    echo "wasmi's value stack is \`RuntimeOptions::mcu()\`'s 4 KiB \`max_wasm_stack\` (trevm clamps it"
    echo "to wasmi's minimum of 1,000 B); the workloads, recursive fib(20) included, run within it."
    echo
    echo "### Instructions (\`-icount shift=0\`)"
    echo
    echo "| operation | $(for o in "${opts_done[@]}"; do printf 'Pulley, %s | wasmi, %s | ' "$o" "$o"; done | sed 's/ | $//') |"
    echo "|---|$(for o in "${opts_done[@]}"; do printf -- '---:|---:|'; done)"
    for row in "create engine + linker|cycles.engine|cycles.wasmi.engine" \
        "load fibonacci (Pulley: deserialize in place; wasmi: validate + translate)|cycles.fib.deserialize|cycles.wasmi.fib.load" \
        "instantiate fibonacci|cycles.fib.instantiate|cycles.wasmi.fib.instantiate" \
        "fibonacci(20)|cycles.fib20|cycles.wasmi.fib20" \
        "load bench-work|cycles.work.deserialize|cycles.wasmi.work.load" \
        "instantiate bench-work|cycles.work.instantiate|cycles.wasmi.work.instantiate"; do
        IFS='|' read -r label kp kw <<< "$row"
        printf '| %s |' "$label"
        for o in "${opts_done[@]}"; do printf ' %s | %s |' "$(instr "trevm-$o" "$kp")" "$(instr "trevm-wasmi-$o" "$kw")"; done
        echo
    done
    echo
    echo "Pulley's from **trevm**, wasmi's from **trevm-wasmi** (each provider alone in its runtime)."
    echo "The benchmark's workloads, all three in one image (**trevm-both**: native, the Pulley capsule"
    echo "and the plain-wasm capsule of \`payloads/bench-work\`, fuel on for both, results checked"
    echo "equal), and wasmi in **trevm-wasmi** (its own native baseline):"
    echo
    echo "| workload (instructions) | opt | native | Pulley | × native | wasmi | × native | wasmi, trevm-wasmi | × its native |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for o in "${opts_done[@]}"; do
        for w in fib heapsort sha256; do
            local label n p i nw iw
            case $w in
                fib) label="recursive fib(20)" ;;
                heapsort) label="heapsort of 1,000 u32" ;;
                sha256) label="SHA-256 of 4,096 bytes" ;;
            esac
            n=$(measure "trevm-both-$o" "cycles.work.$w.native"); p=$(measure "trevm-both-$o" "cycles.work.$w.capsule")
            i=$(measure "trevm-both-$o" "cycles.work.$w.wasmi")
            nw=$(measure "trevm-wasmi-$o" "cycles.work.$w.native"); iw=$(measure "trevm-wasmi-$o" "cycles.work.$w.wasmi")
            echo "| $label | $o | $(instr "trevm-both-$o" "cycles.work.$w.native") | $(instr "trevm-both-$o" "cycles.work.$w.capsule") | $(xr "$p" "$n") | $(instr "trevm-both-$o" "cycles.work.$w.wasmi") | $(xr "$i" "$n") | $(instr "trevm-wasmi-$o" "cycles.work.$w.wasmi") | $(xr "$iw" "$nw") |"
        done
    done
    echo
    echo "| goal (wasmi with fuel, × native, trevm-both) | measured | target | |"
    echo "|---|---:|---:|---|"
    for o in "${opts_done[@]}"; do
        for w in fib:15 heapsort:10; do
            local name=${w%:*} target=${w#*:} n i
            n=$(measure "trevm-both-$o" "cycles.work.$name.native"); i=$(measure "trevm-both-$o" "cycles.work.$name.wasmi")
            echo "| $name, opt-level $o | $(xr "$i" "$n") | ≤ $target× | $(awk -v a="$i" -v b="$n" -v t="$target" 'BEGIN { print (a <= t * b) ? "met" : "not met" }') |"
        done
    done
    echo
    echo "The research spike for issue 27 (a minimal firmware with wasmi alone, the same core module,"
    echo "\`call_resumable\` in 10,000-fuel slices) measured 29.4× / 22.7× / 39.3× native at z and"
    echo "26.8× / 20.4× / 26.4× at s; native counts move by about 5 % between images (code layout)."
    echo "Fuel costs wasmi 15–20 % there; without fuel it was still 24× / 20× at z: the goals"
    echo "(≤ 15× fib, ≤ 10× heapsort) are out of reach for wasmi 2.0's interpreter on thumbv7em as"
    echo "configured here, whatever trevm does around it."
    echo
    echo "Preemption (**trevm-both**, opt-level $hopt):"
    echo
    echo "> $(sed -n 's/.*board: \(wasmi: bench-work fib(40) stopped by its fuel budget.*\)/\1/p' "$work/trevm-both-$hopt.out" | head -n1)"
    echo "<!-- report.sh wasmi: end -->"
}

if [ "${REPORT_ONLY:-}" = wasmi ]; then
    section_file=$work/wasmi-section.md
    wasmi_section > "$section_file"
    # Into the page between its markers, or (a page written before the section existed) before
    # the capsule verification section.
    python3 - "$out" "$section_file" <<'PY'
import sys
page_path, section_path = sys.argv[1], sys.argv[2]
page = open(page_path).read()
section = open(section_path).read().rstrip("\n") + "\n"
begin, end = "<!-- report.sh wasmi: begin -->", "<!-- report.sh wasmi: end -->"
if begin in page and end in page:
    head, rest = page.split(begin, 1)
    page = head + section + "\n" + rest.split(end, 1)[1].lstrip("\n")
else:
    anchor = "## Capsule verification"
    head, rest = page.split(anchor, 1)
    page = head + section + "\n" + anchor + rest
open(page_path, "w").write(page)
PY
    echo "report: wrote the wasmi section of $out" >&2
    exit 0
fi

capsules_s=0
for name in fibonacci async-bindings gpio bench-calls bench-work; do
    size=$(measure trevm-s "capsule.$name")
    capsules_s=$((capsules_s + ${size:-0}))
done

{
    echo "# Footprint and cost of trevm on a Cortex-M4 (QEMU mps2-an386)"
    echo
    echo "Generated by \`firmware/qemu-mps2-an386/report.sh\` on $(date -u +%Y-%m-%d) —"
    echo "$(rustc --version), wasmtime 48.0.8, $(qemu-system-arm --version | head -n1)."
    echo "Do not edit by hand: change the script or the firmware and run it again."
    echo
    echo "Firmware variants (all: cortex-m-rt, embassy executor + SysTick time driver, 1 MiB heap,"
    echo "semihosting; \`thumbv7em-none-eabihf\`, fat LTO, one codegen unit, \`panic\` prints and exits,"
    echo "Pulley without its SIMD opcodes):"
    echo
    echo "- **baseline** — no WebAssembly at all;"
    echo "- **wasmtime-core** — Wasmtime 48 (\`runtime\`, \`pulley\`; no component model) used directly,"
    echo "  running fibonacci as a *core module*, synchronously, without preemption: like for like with"
    echo "  upstream's published setup;"
    echo "- **wasmtime-sync** — Wasmtime 48 (\`runtime\`, \`component-model\`, \`pulley\`) used directly,"
    echo "  running the fibonacci capsule synchronously; no trevm, no host bindings;"
    echo "- **wasmtime-async** — the same with Wasmtime's \`async\` feature (fibers) and \`call_async\`;"
    echo "- **trevm** — the firmware proper: trevm with the log, time, rng and gpio bindings, limits,"
    echo "  the FP guard, five capsules (fibonacci, bench-calls, bench-work, gpio blinky embedded in the"
    echo "  image; async-bindings *received*: signed, verified with Ed25519 before it is loaded);"
    echo "  Wasmtime + Pulley only;"
    echo "- **trevm-wasmi**, **trevm-both** — trevm with wasmi alone, and with both providers (the"
    echo "  default features): see *The second VM provider: wasmi* below."
    echo
    echo "## Flash and static RAM (bytes)"
    echo
    echo "\`.bss\` is shown without the 1 MiB heap array. \`.rodata\` of **trevm** includes the embedded"
    echo "capsules ($(num "$capsules_s") B at opt-level s: $(for n in fibonacci async-bindings gpio bench-calls bench-work; do printf '%s %s B, ' "$n" "$(num "$(measure trevm-s "capsule.$n")")"; done | sed 's/, $//'))."
    echo
    echo "| variant | opt | .text | .rodata | .data | .bss | flash (.text+.rodata+.data) | Δ flash vs baseline |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    for opt in s z; do
        base_flash=0
        for v in "${variants[@]}"; do
            elf=$work/$v-$opt.elf
            text=$(section "$elf" .text); ro=$(section "$elf" .rodata); data=$(section "$elf" .data)
            bss=$(( $(section "$elf" .bss) - heap_size ))
            flash=$((text + ro + data))
            [ "$v" = baseline ] && base_flash=$flash
            echo "| $v | $opt | $(num "$text") | $(num "$ro") | $(num "$data") | $(num "$bss") | $(num "$flash") | $(num $((flash - base_flash))) |"
        done
    done
    echo
    t_sync=$(section "$work/wasmtime-sync-s.elf" .text); t_async=$(section "$work/wasmtime-async-s.elf" .text)
    t_trevm=$(section "$work/trevm-s.elf" .text); t_base=$(section "$work/baseline-s.elf" .text)
    t_sync_z=$(section "$work/wasmtime-sync-z.elf" .text); t_base_z=$(section "$work/baseline-z.elf" .text)
    echo "Read at opt-level s: Wasmtime's runtime alone costs $(num $((t_sync - t_base))) B of \`.text\`;"
    echo "its \`async\` support adds $(num $((t_async - t_sync))) B; trevm on top (bindings, limits, capsule"
    echo "checks, error reporting, the firmware's own demo code) adds $(num $((t_trevm - t_async))) B."
    echo
    t_core_z=$(section "$work/wasmtime-core-z.elf" .text); t_trevm_z=$(section "$work/trevm-z.elf" .text)
    t_simd_z=$(section "$work/trevm-z-simd.elf" .text)
    verdict() { [ "$1" -le "$2" ] && echo "met" || echo "not met"; }
    echo "Pulley's SIMD opcodes (capsules for \`wasm32v1-none\` have none; \`trevm build\` refuses"
    echo "SIMD) are left out of every variant with \`--cfg pulley_disable_interp_simd\`: built with them,"
    echo "**trevm** at opt-level z has $(num "$t_simd_z") B of \`.text\` instead of $(num "$t_trevm_z") B"
    echo "($(num $((t_simd_z - t_trevm_z))) B saved). An Ariel OS application passes the same flag (see"
    echo "[\`ariel-os.md\`](ariel-os.md))."
    echo
    echo "### Against upstream's published figure"
    echo
    echo "Upstream trevm reports a Wasmtime firmware \`.text\` of 264,548 B: a minimal Ariel OS"
    echo "application running a *core module* (no component model) synchronously, at opt-level z with"
    echo "fat LTO, \`--cfg pulley_disable_interp_simd\`, and the precompile settings"
    echo "\`memory_init_cow(false)\`, \`generate_address_map(false)\`, \`table_lazy_init(false)\`,"
    echo "\`cranelift_opt_level(Speed)\`. **wasmtime-core** is that setup here: fibonacci as a core"
    echo "module, Wasmtime 48 with \`runtime\` and \`pulley\` only, synchronous, no preemption, trevm's"
    echo "profile settings (the same as upstream's list: no address map, no copy-on-write or lazy"
    echo "tables, Cranelift at \`Speed\`)."
    echo
    echo "| goal | measured | target | |"
    echo "|---|---:|---:|---|"
    echo "| like-for-like \`.text\` (wasmtime-core, z) | $(num "$t_core_z") | 264,548 | $(verdict "$t_core_z" 264548) |"
    echo "| full trevm firmware \`.text\` (trevm, z) | $(num "$t_trevm_z") | 300,000 | $(verdict "$t_trevm_z" 300000) |"
    echo
    echo "The rest of the difference between **wasmtime-core** and **trevm** is the component model"
    echo "(**wasmtime-sync** minus **wasmtime-core**), \`async\`, and trevm itself."
    echo
    echo "## Heap (bytes, opt-level s, trevm variant)"
    echo
    echo "Measured by the firmware's tracking allocator (\`src/measure.rs\`), each relative to the heap"
    stacks=$(sed -n 's/.*wasm stack \([0-9]*\) KiB, fiber stack \([0-9]*\) KiB.*/\1 \2/p' "$work/trevm-s.out" | head -n1)
    wasm_kib=${stacks% *}; fiber_kib=${stacks#* }
    echo "in use before the stage's runtime was created. \`RuntimeOptions::mcu()\`: $wasm_kib KiB wasm stack"
    echo "(Pulley's), $fiber_kib KiB fiber stack. Each capsule is linked with the linear memory its payload asks for"
    echo "(\`[package.metadata.trevm]\`, read by \`trevm build\`): fibonacci 2 KiB (no heap, 1 KiB"
    echo "stack), async-bindings the default 32 KiB. Linear memory is allocated per instance."
    echo
    echo "| stage | fibonacci | async-bindings |"
    echo "|---|---:|---:|"
    echo "| engine + linker | $(num "$(measure trevm-s heap.fib.engine)") | $(num "$(measure trevm-s heap.async.engine)") |"
    echo "| after deserialize (in place, from flash) | $(num "$(measure trevm-s heap.fib.deserialized)") | $(num "$(measure trevm-s heap.async.deserialized)") |"
    echo "| after instantiate | $(num "$(measure trevm-s heap.fib.instantiated)") | $(num "$(measure trevm-s heap.async.instantiated)") |"
    echo "| peak during the call | $(num "$(measure trevm-s heap.fib.call_peak)") | $(num "$(measure trevm-s heap.async.run_peak)") |"
    echo
    echo "Whole firmware run: heap peak $(num "$(sed -n 's/.*heap peak \([0-9]*\) B.*/\1/p' "$work/trevm-s.out")") B"
    echo "(several engines and capsules alive at once), main-stack high-water"
    echo "$(num "$(sed -n 's/.*main stack high-water \([0-9]*\) B.*/\1/p' "$work/trevm-s.out")") B, deepest use of a"
    echo "$fiber_kib KiB capsule fiber stack $(num "$(measure trevm-s fiber.stack_high_water)") B, of a $wasm_kib KiB Pulley wasm stack"
    echo "$(num "$(measure trevm-s wasm.stack_high_water)") B (the firmware zeroes both when they are allocated and finds how deep they"
    echo "were used when they are freed: \`src/measure.rs\`; the zeroing is in the instantiate figures)."
    echo "So the async example fits an RP2350/nRF52840-class budget of 256 KB of heap with room to"
    echo "spare."
    echo
    fib_heap=$(measure trevm-s heap.fib.instantiated)
    echo "| goal | measured | target | |"
    echo "|---|---:|---:|---|"
    echo "| heap after instantiating fibonacci | $(num "$fib_heap") | 24,000 | $( [ "$fib_heap" -le 24000 ] && echo met || echo "not met") |"
    echo
    echo "## Instructions (\`qemu-system-arm -icount shift=0\`)"
    echo
    echo "With \`-icount shift=0\` QEMU advances virtual time by 1 ns per guest instruction, and SysTick"
    echo "counts the 25 MHz system clock, so one SysTick cycle is 40 instructions (the resolution of"
    echo "these figures). The per-call figures are averages over 100 (host→guest) and 1000"
    echo "(guest→host) calls."
    echo
    echo "| operation | trevm, s | trevm, z | wasmtime-sync, s | wasmtime-async, s | wasmtime-core, z (no fuel) |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| create engine + linker | $(instr trevm-s cycles.engine) | $(instr trevm-z cycles.engine) | – | – | – |"
    for k in fib.deserialize fib.instantiate fib20; do
        label=$k
        case $k in
            fib.deserialize) label="deserialize fibonacci (in place)" ;;
            fib.instantiate) label="instantiate fibonacci" ;;
            fib20) label="fibonacci(20)" ;;
        esac
        echo "| $label | $(instr trevm-s "cycles.$k") | $(instr trevm-z "cycles.$k") | $(instr wasmtime-sync-s "cycles.$k") | $(instr wasmtime-async-s "cycles.$k") | $(instr wasmtime-core-z "cycles.$k") |"
    done
    echo "| one host→guest call (\`noop\`) | $(instr trevm-s cycles.host_to_guest) | $(instr trevm-z cycles.host_to_guest) | – | – | – |"
    echo "| one guest→host call (\`now-as-millis\`) | $(instr trevm-s cycles.guest_to_host) | $(instr trevm-z cycles.guest_to_host) | – | – | – |"
    echo
    echo "### The benchmark's workloads"
    echo
    echo "The workloads of \`crates/trevm-bench\`'s peers table ([\`bench.md\`](bench.md)), with smaller"
    echo "arguments: \`payloads/bench-work\` as a capsule (Pulley32, fuel preemption: trevm's default) and"
    echo "its \`work.rs\` compiled natively into the same firmware; the firmware checks that both"
    echo "compute the same. **tail** is the trevm firmware built with nightly Rust and"
    echo "\`--cfg pulley_tail_calls\` (guaranteed tail-call dispatch in the interpreter; opt-in, see"
    echo "[\`ariel-os.md\`](ariel-os.md)); it embeds the same capsules."
    echo
    tail_tag=trevm-s-tail
    [ -f "$work/$tail_tag.out" ] || tail_tag=none
    ratio() { # capsule native → "N.N×" or –
        if [ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt 0 ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; else echo "–"; fi
    }
    cell() { [ "$1" = none ] && echo "–" || instr "$1" "$2"; }
    echo "| workload (instructions) | native, s | capsule, s | × native | native, z | capsule, z | × native | capsule, s, tail | × native |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for w in fib heapsort sha256; do
        case $w in
            fib) label="recursive fib(20)" ;;
            heapsort) label="heapsort of 1,000 u32" ;;
            sha256) label="SHA-256 of 4,096 bytes" ;;
        esac
        ns=$(measure trevm-s "cycles.work.$w.native"); cs=$(measure trevm-s "cycles.work.$w.capsule")
        nz=$(measure trevm-z "cycles.work.$w.native"); cz=$(measure trevm-z "cycles.work.$w.capsule")
        ct=""; [ "$tail_tag" = none ] || ct=$(measure "$tail_tag" "cycles.work.$w.capsule")
        echo "| $label | $(instr trevm-s "cycles.work.$w.native") | $(instr trevm-s "cycles.work.$w.capsule") | $(ratio "$cs" "$ns") | $(instr trevm-z "cycles.work.$w.native") | $(instr trevm-z "cycles.work.$w.capsule") | $(ratio "$cz" "$nz") | $(cell "$tail_tag" "cycles.work.$w.capsule") | $(ratio "$ct" "$ns") |"
    done
    echo
    wasmi_section
    echo
    echo "## Capsule verification (opt-level s)"
    echo
    t_uns=$(section "$work/trevm-unsigned-s.elf" .text); r_uns=$(section "$work/trevm-unsigned-s.elf" .rodata)
    r_trevm=$(section "$work/trevm-s.elf" .rodata)
    echo "The **trevm** firmware verifies the signed $(num "$(measure trevm-s capsule.async-bindings)")-byte"
    echo "async-bindings capsule (COSE_Sign1, Ed25519 with \`ed25519-compact\` \`opt_size\`, SHA-256 of"
    echo "the payload; see [\`trusted-capsules.md\`](trusted-capsules.md)) and refuses a copy with one"
    echo "payload byte changed and the CRC recomputed. The same firmware built without that"
    echo "(\`--no-default-features --features runtime\`: the capsule embedded instead) is smaller by:"
    echo
    echo "| | \`.text\` | \`.rodata\` |"
    echo "|---|---:|---:|"
    echo "| verifier (trevm's one-pass COSE_Sign1 and manifest decoder on minicbor, ed25519-compact, trust policy, the refusal demo; sha2 is in both, for the benchmark's SHA-256) | $(num $((t_trevm - t_uns))) | $(num $((r_trevm - r_uns))) |"
    echo
    echo "Made by this script's \`trevm\` and \`trevm-unsigned\` builds at opt-level s (in this directory:"
    echo "\`cargo build --release\`, and \`cargo build --release --no-default-features --features runtime\`;"
    echo "sections by \`readelf -SW\`) and the \`measure: cycles.verify\` and \`heap.verify_peak\` lines of the"
    echo "\`trevm\` build run under \`qemu-system-arm -M mps2-an386 -icount shift=0,sleep=off\`."
    echo
    echo "Before issue 23 the verifier read the trailer three times (a hand-written CBOR walker, ciborium"
    echo "into a \`Value\`, coset) and cost 62,968 B of \`.text\` and 6,508 B of \`.rodata\`, 2,788,560"
    echo "instructions to verify and 1,268 B of heap (the same builds at commit b6356d3; recorded in"
    echo "[\`trusted-capsules.md\`](trusted-capsules.md))."
    echo
    echo "| operation (async-bindings, $(num "$(measure trevm-s capsule.async-bindings)") B) | instructions |"
    echo "|---|---:|"
    echo "| verify: parse the signature, Ed25519, SHA-256 of the payload | $(instr trevm-s cycles.verify) |"
    echo "| deserialize it afterwards (in place, from flash) | $(instr trevm-s cycles.async.deserialize) |"
    echo
    echo "Heap used while verifying: $(num "$(measure trevm-s heap.verify_peak)") B at peak."
    echo
    echo "## CoAP device and its security layer (opt-level s)"
    echo
    echo "Feature \`coap\` adds trevm-coap's server with the capsule sandbox (fed datagrams in memory;"
    echo "the network device is the last section) and a \`trevm-store\` \`FlashStore\` (sequential-storage)"
    echo "on NOR flash — here RAM that QEMU keeps across a reset — which it uploads a signed capsule"
    echo "into before resetting the board and finding it restored; \`coap-oscore\` puts EDHOC + OSCORE"
    echo "and an access policy in front of it (coapcore, lakers with RustCrypto P-256, liboscore"
    echo "compiled with \`arm-none-eabi-gcc\`; [\`coap-security.md\`](coap-security.md)). CI runs"
    echo "the \`coap-oscore\` firmware."
    echo
    t_coap=$(section "$work/trevm-coap-s.elf" .text); r_coap=$(section "$work/trevm-coap-s.elf" .rodata)
    t_osc=$(section "$work/trevm-oscore-s.elf" .text); r_osc=$(section "$work/trevm-oscore-s.elf" .rodata)
    echo "| | \`.text\` | \`.rodata\` | flash |"
    echo "|---|---:|---:|---:|"
    echo "| CoAP server + sandbox + flash store, on top of **trevm** (and the $(num "$(sed -n 's/.*PUT \/sandbox\/hello (\([0-9]*\) B.*/\1/p' "$work/trevm-coap-s.out" | head -n1)")-byte sandbox capsule it uploads) | $(num $((t_coap - t_trevm))) | $(num $((r_coap - r_trevm))) | $(num $((t_coap + r_coap - t_trevm - r_trevm))) |"
    echo "| EDHOC + OSCORE + access policy, on top of that | $(num $((t_osc - t_coap))) | $(num $((r_osc - r_coap))) | $(num $((t_osc + r_osc - t_coap - r_coap))) |"
    echo
    echo "| operation | instructions |"
    echo "|---|---:|"
    echo "| upload the sandbox capsule: 17 Block1 PUTs, verify, load, instantiate, write the flash store (coap firmware) | $(instr trevm-coap-s cycles.coap.upload) |"
    echo "| the same behind the security layer (coap-oscore firmware) | $(instr trevm-oscore-s cycles.coap.upload) |"
    echo "| make the device identity (a P-256 key pair; first boot only, then kept in the store) | $(instr trevm-oscore-s cycles.coap.identity) |"
    echo "| EDHOC message 1 → message 2 (ephemeral key, two P-256 ECDH, HKDF, MAC, AEAD) | $(instr trevm-oscore-s cycles.coap.edhoc_message_2) |"
    echo
    stack_of() { sed -n 's/.*main stack high-water \([0-9]*\) B.*/\1/p' "$work/$1.out" | head -n1; }
    heap_of() { sed -n 's/.*heap peak \([0-9]*\) B.*/\1/p' "$work/$1.out" | head -n1; }
    echo "Main-stack high-water: $(num "$(stack_of trevm-s)") B (trevm), $(num "$(stack_of trevm-coap-s)") B (coap),"
    echo "$(num "$(stack_of trevm-oscore-s)") B (coap-oscore: lakers keeps its EDHOC buffers on the stack)."
    echo "Heap peak of the whole run: $(num "$(heap_of trevm-s)"), $(num "$(heap_of trevm-coap-s)"), $(num "$(heap_of trevm-oscore-s)") B."
    echo
    echo "## FP registers across fiber switches"
    echo
    echo "The firmware's probe (\`src/fp_probe.rs\`) loads a fresh pattern into \`d8–d15\` before each"
    echo "poll of a capsule call and compares after it. Calibration: a callee that leaves \`d8\` changed"
    echo "(as a fiber switch that does not save it would) is seen as"
    echo "$(measure trevm-s fp.calibration.leak) changed register; wrapped in trevm's \`FpGuarded\` it is seen as"
    echo "$(measure trevm-s fp.calibration.guarded_leak)."
    echo
    echo "| build | polls of a float-heavy capsule call that sleeps 40 times | registers changed | guest float result exact |"
    echo "|---|---:|---:|---|"
    for tag in trevm-s trevm-s-unguarded; do
        label="guard on (default)"
        [ "$tag" = trevm-s-unguarded ] && label="guard off (\`--cfg trevm_unguarded_fp\`)"
        exact=$(sed -n 's/.*guest float result exact: \([a-z]*\).*/\1/p' "$work/$tag.out")
        echo "| $label | $(measure "$tag" fp.polls) | $(measure "$tag" fp.clobbered) | $exact |"
    done
    # The network device's section is net-report.py's: kept as it is.
    if [ -n "$net_section" ]; then
        echo
        echo "$net_section"
    fi
} > "$out"
echo "report: wrote $out" >&2
