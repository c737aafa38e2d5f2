#!/usr/bin/env bash
# One prepared GPU check for a machine with nvcc, CMake, a GPU and PyTorch, without a JDK or a
# network. Builds the native harness, runs every CUDA kernel against its CPU twin (dense
# projection, mask pooling, slot attention, dense CRF, visual prompts, PIL bicubic resize) and benchmarks them,
# runs the plain-PyTorch formulations of the same ops, and writes to the output folder:
#   summary.md      one table: kernel, dtype, mode, shape, time, GB/s, GFLOP/s, % of peak (ovseg and torch)
#   kernels.json    ovseg_kernel_check --json      torch.json   torch_reference_bench.py --json
#   check.log       everything printed, with the device (nvidia-smi) and tool versions
#   kernel_check.out  the harness's own output (every PASS/FAIL line and the benchmark table)
# Budget: under 8 minutes on an H100/H200 (each step has its own timeout).
#
#   tools/gpu/check.sh [--out DIR] [--reps N] [--dry-run]
#
# Exit codes: 0 all checks passed; 1 a kernel disagreed with its CPU twin (or a step failed);
# 2 usage; 3 no GPU visible (run with --dry-run to build and exercise the script without one).
# --dry-run: no GPU needed; builds the native code without CUDA (the harness is then the stub
# that prints why it skipped), runs it, the CPU twins' tests and the torch script, and writes the
# same files, marked as a dry run: it checks the script, not the kernels.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)"
reps=20
dry=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || { echo "check.sh: --out needs a folder" >&2; exit 2; }; out="$2"; shift 2 ;;
        --reps)
            if [ $# -lt 2 ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then echo "check.sh: --reps needs a positive integer" >&2; exit 2; fi
            reps="$2"; shift 2 ;;
        --dry-run) dry=1; shift ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "check.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

mkdir -p "$out" || { echo "check.sh: cannot create $out" >&2; exit 2; }
out="$(cd "$out" && pwd)"
log="$out/check.log"
: >"$log"
say() { printf '%s\n' "$*" | tee -a "$log"; }
t_start=$(date +%s)
elapsed() { echo $(( $(date +%s) - t_start ))s; }

# ---- device --------------------------------------------------------------------------------
gpu_line=""
cc=""
if command -v nvidia-smi >/dev/null 2>&1; then
    gpu_line="$(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>&1 | head -1)"
    cc="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')"
fi
if [ -z "$gpu_line" ] || [[ "$gpu_line" == *"failed"* ]] || [[ "$gpu_line" == *"NVIDIA-SMI has"* ]] || [[ "$gpu_line" == *"No devices"* ]]; then
    if [ "$dry" -eq 0 ]; then
        say "check.sh: no GPU visible (nvidia-smi: ${gpu_line:-not installed}); nothing was run."
        say "check.sh: run with --dry-run to build and exercise the script without a GPU."
        exit 3
    fi
    gpu_line="none (dry run)"
fi
say "ovseg GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)$([ "$dry" -eq 1 ] && echo ', DRY RUN')"
say "device: $gpu_line"
say "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+ local changes)')"
for tool in nvcc cmake python3; do
    if command -v "$tool" >/dev/null 2>&1; then
        say "$tool: $("$tool" --version 2>&1 | grep -m1 -iE 'release|version|python' )"
    else
        say "$tool: missing"
    fi
done
command -v nvcc >/dev/null 2>&1 || say "check.sh: warning: no nvcc on PATH; the CUDA library becomes the stub and the harness skips"

# ---- build (no JDK, no Maven; the ASan kernel emulation is left to CI) -----------------------
build="$out/build"
say ""
say "== build ($(elapsed))"
jobs="$(nproc 2>/dev/null || echo 4)"
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DOVSEG_KERNEL_EMULATION=OFF)
if [ "$dry" -eq 1 ]; then
    cmake_args+=(-DOVSEG_WITH_CUDA=OFF)
elif [[ "$cc" =~ ^[0-9]+$ ]]; then
    cmake_args+=("-DOVSEG_CUDA_ARCHS=${cc}-real") # SASS for this GPU only
fi
build_timeout="${OVSEG_CHECK_BUILD_TIMEOUT:-360}"
if ! { timeout "$build_timeout" cmake -S "$root" -B "$build" "${cmake_args[@]}" &&
       timeout "$build_timeout" cmake --build "$build" -j "$jobs"; } >>"$log" 2>&1; then
    say "check.sh: native build failed or took over $build_timeout s (see $log)"
    exit 1
fi
say "built in $(elapsed)"

status=0
# ---- kernels vs CPU twins, then benchmarks ------------------------------------------------------
say ""
say "== ovseg_kernel_check: correctness against the CPU twins, then benchmarks ($(elapsed))"
timeout 180 "$build/bin/ovseg_kernel_check" --json "$out/kernels.json" --reps "$reps" >"$out/kernel_check.out" 2>&1
rc=$?
cat "$out/kernel_check.out" >>"$log"
grep -E "^(FAIL|FATAL|no GPU|device|[0-9]+ checks)" "$out/kernel_check.out"
if [ "$rc" -ne 0 ]; then
    say "check.sh: ovseg_kernel_check exited $rc$([ "$rc" -eq 124 ] && echo ' (timed out after 180 s)')"
    status=1
fi
# the other native tests (CPU twins against naive loops), a few seconds
timeout 60 ctest --test-dir "$build" --output-on-failure -E kernel_check >>"$log" 2>&1 || { say "check.sh: ctest (CPU twins) failed, see $log"; status=1; }

# ---- PyTorch formulations of the same ops ----------------------------------------------------
say ""
say "== PyTorch reference ($(elapsed))"
timeout 90 python3 "$root/tools/gpu/torch_reference_bench.py" --reps "$reps" --json "$out/torch.json" >>"$log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then say "check.sh: torch_reference_bench.py exited $rc"; status=1; fi
tail -n 3 "$log" | grep -q "no GPU, skipped" && say "$(grep 'no GPU, skipped' "$log" | tail -1)"

# ---- summary table -----------------------------------------------------------------------------
python3 - "$out" "$gpu_line" "$dry" >>"$log" 2>&1 <<'PY'
import json, os, sys
out, gpu, dry = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def load(name):
    p = os.path.join(out, name)
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
k, t = load("kernels.json"), load("torch.json")
lines = [f"# ovseg GPU check{' (DRY RUN: no GPU, no figures)' if dry else ''}", "",
         f"Device: {gpu}", ""]
if k.get("device"):
    lines.append(f"Peaks used for the fractions: DRAM {k.get('peak_bw_bytes_per_s', 0) / 1e9:.0f} GB/s, "
                 f"fp32 (non-tensor) {k.get('peak_fp32_flop_per_s', 0) / 1e12:.1f} TFLOP/s (kernel_check.cu device_peak).")
    lines.append(f"Correctness: {k.get('checks', 0)} checks against the CPU twins, {k.get('failures', 0)} failed.")
    lines.append("")
lines += ["| impl | kernel | dtype | mode | shape | time (us) | GB/s | % peak BW | GFLOP/s | % peak fp32 | CPU twin (ms) |",
          "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
for impl, d in (("ovseg", k), ("torch", t)):
    for r in d.get("results", []):
        cpu = f"{r['cpu_ms']:.3f}" if r.get("cpu_ms") is not None else ""
        lines.append(f"| {impl} | {r['kernel']} | {r['dtype']} | {r['mode']} | {r['shape']} | {r['gpu_us']:.1f} | "
                     f"{r['gb_per_s']:.1f} | {100 * r['frac_peak_bw']:.1f}% | {r['gflop_per_s']:.1f} | "
                     f"{100 * r['frac_peak_fp32']:.1f}% | {cpu} |")
if not k.get("results") and not t.get("results"):
    lines.append("| (no rows: " + ("dry run" if dry else "the benchmarks did not run; see check.log") + ") | | | | | | | | | | |")
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
PY
[ -s "$out/summary.md" ] || { say "check.sh: could not write summary.md"; status=1; }

say ""
say "== done in $(elapsed): $([ "$status" -eq 0 ] && echo 'all passed' || echo 'FAILURES')$([ "$dry" -eq 1 ] && echo ' (dry run)'); files in $out"
[ -s "$out/summary.md" ] && cat "$out/summary.md"
exit "$status"
