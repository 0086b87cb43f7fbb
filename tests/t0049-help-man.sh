#!/bin/sh
test_description='every command has a man page whose synopsis lists the options its --help lists, and zcnc help CMD is CMD --help'
: "${ZCNC_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$(dirname "$0")/test-lib.sh"

MAN=$ZCNC_SRC/man

# The commands zcnc's own usage names, once each (help is zcnc(1)'s,
# checked apart).
commands () {
	"$ZCNC" --help | sed -n 's/^  zcnc \([a-z][a-z-]*\) .*/\1/p' | grep -vx help | sort -u
}

# The options in a usage text: -x or --word, not a bare - or --.
help_options () {
	grep -oE '(^|[][ |])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[][ |]//' | sort -u
}

# The page whose SYNOPSIS has `.Cm COMMAND` right after `.Nm zcnc`.
page_of () {
	for page in "$MAN"/*.[178]; do
		awk -v cmd="$1" '
			/^\.Sh / { synopsis = ($0 == ".Sh SYNOPSIS") }
			synopsis && last == ".Nm zcnc" && $0 == ".Cm " cmd { found = 1 }
			{ last = $0 }
			END { exit !found }' "$page" && echo "$page"
	done
	return 0
}

# The options of COMMAND's blocks in PAGE's SYNOPSIS (a block runs from
# one `.Nm zcnc` to the next): the word after each Fl, with \- as -.
man_options () {
	awk -v cmd="$1" '
		/^\.Sh / { synopsis = ($0 == ".Sh SYNOPSIS"); next }
		!synopsis { next }
		/^\.Nm zcnc$/ { block = ""; inside = 0; next }
		block == "" && $0 == ".Cm " cmd { inside = 1 }
		{ block = block "x" }
		inside {
			for (i = 1; i < NF; i++)
				if ($i == "Fl" || $i == ".Fl") print $(i + 1)
		}' "$2" | sed 's/\\-/-/g; s/^/-/' | grep -E '^--?[a-zA-Z]' | sort -u
}

test_expect_success 'zcnc --help names the commands' '
	commands >list &&
	grep -x trigger list && grep -x hub list && grep -x cp list &&
	test $(wc -l <list) -ge 16
'

for command in $(commands); do
	test_expect_success "$command: one page documents it, with the options of its --help" '
		page_of '"$command"' >page &&
		test $(wc -l <page) -eq 1 &&
		"$ZCNC" '"$command"' --help >usage &&
		help_options <usage | grep -vx -- "--help" >from-help &&
		man_options '"$command"' "$(cat page)" >from-man &&
		test -s from-help &&
		test_cmp from-help from-man &&
		"$ZCNC" help '"$command"' >again &&
		test_cmp usage again
	'
done

test_expect_success 'zcnc help: an unknown command, and too many' '
	test_expect_code 2 "$ZCNC" help nothing 2>err &&
	grep "zcnc: no command '\''nothing'\'' (zcnc help lists them)" err &&
	test_expect_code 2 "$ZCNC" help trigger nodes 2>err &&
	grep "zcnc: help takes one COMMAND" err &&
	"$ZCNC" help >all &&
	grep "zcnc help \[COMMAND\]" all
'

test_done
