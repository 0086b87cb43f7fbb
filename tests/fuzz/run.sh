#!/bin/sh
#  run.sh — runs libFuzzer targets built by `make fuzz`, each for SECONDS
#  on a scratch copy of its corpus and regression inputs (the fuzzer adds
#  what it finds there, not to the source tree).
#
#  Usage: run.sh SECONDS SRCDIR BUILDDIR TARGET...
#  BUILDDIR holds the programs; each target's output goes to
#  BUILDDIR/TARGET.log and a crash input to ./fuzz-crash-TARGET-*.
#  Prints one line per target; exits 1 when any of them failed.
set -u
seconds=$1 srcdir=$2 builddir=$3
shift 3

status=0
for target in "$@"; do
    scratch=$builddir/corpus-$target
    rm -rf "$scratch"
    mkdir -p "$scratch"
    for kind in corpus regress; do
        dir=$srcdir/tests/fuzz/$kind/$target
        test -d "$dir" || continue
        for input in "$dir"/*; do
            test -f "$input" && test "${input##*/}" != README || continue
            cp "$input" "$scratch/$kind-${input##*/}"
        done
    done
    seeds=$(ls "$scratch" | wc -l)
    log=$builddir/$target.log
    if "$builddir/$target" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
           -artifact_prefix="fuzz-crash-$target-" "$scratch" >"$log" 2>&1; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log")
        echo "fuzz: $target: ok: ${runs:-?}, corpus $seeds -> $(ls "$scratch" | wc -l) inputs"
    else
        status=1
        crash=$(sed -n 's/.*Test unit written to \(.*\)/\1 /p' "$log" | tr -d '\n')
        echo "fuzz: $target: FAILED: ${crash:-no crash input written}(log: $log)"
        echo "fuzz: keep the input under tests/fuzz/regress/$target/ once it is fixed; the end of the log:"
        tail -n 60 "$log" | sed 's/^/    /'
    fi
done
exit $status
