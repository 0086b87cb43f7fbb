#!/bin/sh
test_description='libcurl, libcrypto and libedit are loaded on first use: an idle agent maps none of them; without them, http_get says why, a copy is hashed by libsodium, zcnc shell reads plain lines'
. "$(dirname "$0")/test-lib.sh"

ZC_PTY=$ZCNC_BUILD/tests/zc-pty
test -x "$ZC_PTY" || bail_out "no tests/zc-pty in $ZCNC_BUILD (make tests/zc-pty)"
# Stand-ins: shared objects with the libraries' names and no function at
# all, found first through LD_LIBRARY_PATH.
${CC:-cc} --version >/dev/null 2>&1 && test_set_prereq CC
STAND_INS=$SCRATCH/stand-ins

# with_env NAME VALUE COMMAND...: COMMAND (a shell function too) with
# NAME=VALUE in the environment of what it starts; NAME is as it was
# after, whether COMMAND succeeded or not.
with_env () {
	local name=$1 value=$2 status saved_set=0 saved=
	shift 2
	eval "test \"\${$name+set}\" = set" && { saved_set=1; eval "saved=\$$name"; }
	eval "export $name=\$value"
	"$@"
	status=$?
	if test $saved_set = 1; then eval "export $name=\$saved"; else unset "$name"; fi
	return $status
}

# maps_library PID NAME: the process PID maps the library NAME (libcurl,
# libcrypto, libedit).
maps_library () {
	grep -q "/$2\\.so" "/proc/$1/maps"
}

test_expect_success CC 'setup: a hub and four agents; n3 finds stand-ins without a function for the three libraries, n4 a libcrypto without SHA-256' '
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 n4 &&
	mkdir -p "$STAND_INS" &&
	for library in libcurl.so.4 libcrypto.so.3 libedit.so.2; do
		${CC:-cc} -shared -fPIC -o "$STAND_INS/$library" -x c /dev/null || return 1
	done &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	with_env LD_LIBRARY_PATH "$STAND_INS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" start_agent n3 &&
	# OpenSSL asked for FIPS algorithms only, with no FIPS provider: it
	# loads, but offers no SHA-256
	printf "%s\n" "openssl_conf = openssl_init" "[openssl_init]" "alg_section = evp_properties" \
		"[evp_properties]" "default_properties = fips=yes" >no-sha256.cnf &&
	with_env OPENSSL_CONF "$SCRATCH/no-sha256.cnf" start_agent n4 &&
	wait_for nodes_online n1 n1 n2 n3 n4
'

test_expect_success CC 'an idle hub and agent map none of libcurl, libcrypto and libedit' '
	for name in hub1 n1 n2; do
		for library in libcurl libcrypto libedit; do
			! maps_library "$(cat "$SCRATCH/$name.pid")" $library || {
				echo "$name maps $library" >&2
				return 1
			}
		done
	done
'

test_expect_success CC 'the first copy to n2 loads libcrypto there, the first http_get libcurl' '
	head -c 300000 /dev/urandom >blob &&
	zcnc_as n1 cp -t 60 blob "n2:$SCRATCH/n2.blob" >out &&
	cmp blob n2.blob &&
	maps_library "$(cat n2.pid)" libcrypto &&
	! maps_library "$(cat n2.pid)" libcurl &&
	# nothing listens there: the job fails, after libcurl tried
	{ printf "{\"to\": \"n2\", \"method\": \"http_get\", \"args\": [\"http://127.0.0.1:%s/\"]}\n" "$(pick_port)" |
		zcnc_as n1 send -w -t 30 >out 2>err || grep -q "http_get failed" out err; } &&
	maps_library "$(cat n2.pid)" libcurl &&
	! maps_library "$(cat n2.pid)" libedit
'

test_expect_success CC 'without libcrypto, a copy is hashed by libsodium, arrives whole, and the log says so' '
	zcnc_as n1 cp -t 60 blob "n3:$SCRATCH/n3.blob" >out &&
	cmp blob n3.blob &&
	grep -q " warn: SHA-256 by libsodium.s code, about 4 times slower: libcrypto.so.3 has no EVP_MD_CTX_new$" n3.log
'

test_expect_success CC 'a libcrypto that gives no SHA-256: the copy is hashed by libsodium, and the log says why' '
	zcnc_as n1 cp -t 60 blob "n4:$SCRATCH/n4.blob" >out &&
	cmp blob n4.blob &&
	grep -q " warn: SHA-256 by libsodium.s code, about 4 times slower: libcrypto.so.3 gives no SHA-256 (its providers; OPENSSL_CONF)$" n4.log
'

test_expect_success CC 'without libcurl, http_get fails and its result says why' '
	! { printf "{\"to\": \"n3\", \"method\": \"http_get\", \"args\": [\"http://127.0.0.1:%s/\"]}\n" "$(pick_port)" |
		zcnc_as n1 send -w -t 30 >out 2>err; } &&
	cat out err >&2 &&
	grep -q "libcurl.so.4 has no curl_global_init" out err
'

test_expect_success CC 'without libedit, zcnc shell on a terminal says why and reads plain lines' '
	LD_LIBRARY_PATH=$STAND_INS NO_COLOR=1 "$ZC_PTY" -o pty.out -t 20 -T 100 -- \
		"$ZCNC" shell -c "$SCRATCH/n1.cfg" <<-\EOF &&
	expect reading plain lines
	line n2: echo $((6*7))
	expect 42
	line quit
	exit 0
	EOF
	tr -d "\r" <pty.out >out &&
	grep -q "^zcnc: cannot set up line editing (libedit.so.2 has no el_init); reading plain lines$" out &&
	grep -q "^n2: 42$\|^42$" out
'

test_done
