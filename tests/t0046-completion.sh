#!/bin/sh
test_description='bash completion: subcommands, options, node names from the local agent, quiet without one'
: "${ZCNC_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$(dirname "$0")/test-lib.sh"

COMPLETION=$ZCNC_SRC/etc/bash-completion/zcnc
command -v bash >/dev/null 2>&1 || skip_all "bash is needed"
test -r "$COMPLETION" || bail_out "no $COMPLETION"

# completions WORD...: what bash completes the last WORD (may be "") of
# the line "WORD..." with: COMPREPLY, sorted, one a line, in 'out'; what
# the function wrote on stderr in 'err'. zcnc is the build's, and the
# agent is n1's (ZCNC_CONFIG).
completions () {
	PATH=$ZCNC_BUILD:$PATH ZCNC_CONFIG=$SCRATCH/n1.cfg bash -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_zcnc || exit 1
		printf "%s\n" "${COMPREPLY[@]}"
	' completion "$COMPLETION" "$@" 2>err | sed "/^$/d" | sort >out
}

# offers WORD...: the completions of the line, on one line, blank-separated.
offers () {
	completions "$@" && tr "\n" " " <out | sed "s/ $//"
}

test_expect_success 'setup: a hub and two agents' '
	make_keys --hub hub1 &&
	make_keys n1 web-1 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent web-1 &&
	wait_for nodes_online n1 n1 web-1
'

test_expect_success 'the first word: the subcommands' '
	test "$(offers zcnc "")" = "--help --version agent call cancel cp help hub jobs keygen nodes ping pub queue send status sub tail trigger" &&
	test "$(offers zcnc tr)" = trigger &&
	test "$(offers zcnc q)" = queue &&
	test ! -s err
'

test_expect_success 'each command its own options' '
	test "$(offers zcnc trigger --a)" = --async &&
	test "$(offers zcnc trigger --s)" = "--schedule --stream" &&
	test "$(offers zcnc call --s)" = --schedule &&
	test "$(offers zcnc nodes --)" = "--config --dot --facts --functions --help --json" &&
	test "$(offers zcnc sub -)" = "--config --from --help --json --once --timeout --verified -c -h -o -t" &&
	test "$(offers zcnc keygen --)" = "--dir --help --hub" &&
	test "$(offers zcnc send --j)" = --json
'

test_expect_success 'the option help lists agree with each command'\''s --help' '
	for command in hub agent keygen trigger call send nodes ping jobs queue status tail cancel cp pub sub; do
		completions zcnc "$command" -- &&
		"$ZCNC" "$command" --help >usage &&
		for option in $(grep -o -- "--[a-z][a-z-]*" usage | sort -u); do
			grep -qx -- "$option" out || { echo "$command: $option not offered"; return 1; }
		done || return 1
	done
'

test_expect_success 'a TARGET: the node names from the local directory, with a colon' '
	test "$(offers zcnc trigger "")" = "ALL: n1: web-1:" &&
	test "$(offers zcnc trigger w)" = web-1: &&
	test "$(offers zcnc trigger -t 5 w)" = web-1: &&
	test "$(offers zcnc tail we)" = web-1: &&
	test "$(offers zcnc ping "")" = "n1 web-1" &&
	test "$(offers zcnc call n)" = n1 &&
	test ! -s err
'

test_expect_success 'after TARGET:, the words are the remote command'\''s: nothing offered' '
	test "$(offers zcnc trigger web-1 : "")" = "" &&
	test "$(offers zcnc trigger web-1 : ls -)" = "" &&
	test "$(offers zcnc trigger web-1:ls -)" = "" &&
	test "$(offers zcnc ping n1 "")" = "" &&
	test "$(offers zcnc call n1 fn --)" = ""
'

test_expect_success '-c FILE: files; the names come from that config'\''s agent' '
	test "$(offers zcnc nodes -c web-1.c)" = web-1.cfg &&
	test "$(offers zcnc ping -c "$SCRATCH/web-1.cfg" we)" = web-1
'

test_expect_success 'queue: its actions' '
	test "$(offers zcnc queue "")" = "cancel list purge" &&
	test "$(offers zcnc queue --json l)" = list
'

test_expect_success 'no agent running: no names, and not a word on the terminal' '
	stop_agent n1 &&
	test "$(offers zcnc trigger "")" = "ALL:" &&
	test ! -s err &&
	test "$(offers zcnc ping "")" = "" &&
	test ! -s err
'

test_done
