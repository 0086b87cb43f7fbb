#!/bin/sh
test_description='the fuzz targets replay their corpora and regression inputs'
# Before test-lib.sh moves into the scratch directory: $0 may be relative.
: "${ZCNC_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$(dirname "$0")/test-lib.sh"

# Each target of FUZZ_TARGETS (make check passes them; by hand, every
# tests/fuzz/fuzz_*.c) runs as tests/fuzz-replay-NAME, built with the
# ordinary compiler, over tests/fuzz/corpus/TARGET (seeds: valid inputs)
# and tests/fuzz/regress/TARGET (inputs that once crashed it), under
# valgrind when there is one, so that a bad access fails as a crash does.

FUZZ=$ZCNC_SRC/tests/fuzz
if test -z "$ZCNC_FUZZ_TARGETS"; then
	for source in "$FUZZ"/fuzz_*.c; do
		name=${source##*/}
		ZCNC_FUZZ_TARGETS="$ZCNC_FUZZ_TARGETS ${name%.c}"
	done
fi
: "${VALGRIND=$(command -v valgrind)}"
if test -n "$VALGRIND"; then
	REPLAY_UNDER="$VALGRIND -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect"
else
	REPLAY_UNDER=
fi

# replay TARGET: runs its replay program over its two directories; the
# program's summary ("replay: DIR: N inputs") goes to replay-TARGET.out.
replay () {
	program=$ZCNC_BUILD/tests/fuzz-replay-${1#fuzz_}
	test -x "$program" || { say "# no replay program $program (make check builds it)"; return 1; }
	set -- "$FUZZ/corpus/$1" "$FUZZ/regress/$1" "$1"
	$REPLAY_UNDER "$program" "$1" "$2" >"replay-$3.out"
}

for target in $ZCNC_FUZZ_TARGETS; do
	test_expect_success "$target: its seeds and past crash inputs replay without a fault" "
		replay $target &&
		cat replay-$target.out &&
		test_line_count = 2 replay-$target.out &&
		! grep -q '/corpus/$target: 0 inputs' replay-$target.out
	"
done

test_expect_success 'a directory that cannot be read fails the replay' '
	set -- $ZCNC_FUZZ_TARGETS &&
	test_expect_code 2 "$ZCNC_BUILD/tests/fuzz-replay-${1#fuzz_}" "$SCRATCH/missing" 2>err &&
	grep "cannot open $SCRATCH/missing" err
'

test_done
