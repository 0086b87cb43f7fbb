#!/bin/sh
test_description='make install and uninstall into a DESTDIR: the files, the installed demo, configs kept'
. "$(dirname "$0")/test-lib.sh"

# make in the build directory, on its own: not a sub-make of `make check`
# (whose jobserver it must not share).
zc_make () {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} --no-print-directory -C "$ZCNC_BUILD" "$@"
}

# The files (and symbolic links) under $1, one path a line, sorted.
files_under () {
	(cd "$1" && find . ! -type d | sort)
}

command -v "${MAKE:-make}" >/dev/null 2>&1 || skip_all "no make"
test -f "$ZCNC_BUILD/Makefile" || skip_all "no Makefile in $ZCNC_BUILD"

D=$SCRATCH/root

test_expect_success 'make install-paths names the directories' '
	zc_make -s install-paths >paths &&
	cat paths &&
	. ./paths &&
	test -n "$bindir" && test -n "$pkgdatadir" && test -n "$sysconfdir" &&
	test -n "$systemdsystemunitdir"
'
. ./paths

test_expect_success 'make install DESTDIR= installs the binary, man pages, demo, configs and units' '
	zc_make install DESTDIR="$D" >out 2>&1 &&
	cat out &&
	test -x "$D$bindir/zcnc" &&
	test -f "$D$mandir/man1/zcnc.1" &&
	test -f "$D$mandir/man5/zcnc.conf.5" &&
	test -f "$D$mandir/man5/zcnc-policy.5" &&
	test -x "$D$pkgdatadir/demo.sh" &&
	test -f "$D$pkgdatadir/zcnc-agent-root.conf" &&
	test -f "$D$sysconfdir/zcnc/hub.cfg" &&
	test -f "$D$sysconfdir/zcnc/agent.cfg" &&
	test -f "$D$sysconfdir/zcnc/policy.sample" &&
	if test "$systemdsystemunitdir" != no; then
		test -f "$D$systemdsystemunitdir/zcnc-hub.service" &&
		test -f "$D$systemdsystemunitdir/zcnc-agent.service"
	fi &&
	if test "$sysusersdir" != no; then test -f "$D$sysusersdir/zcnc.conf"; fi &&
	if test "$tmpfilesdir" != no; then test -f "$D$tmpfilesdir/zcnc.conf"; fi
'

test_expect_success 'the installed binary runs and says its version' '
	"$D$bindir/zcnc" --version >out &&
	"$ZCNC" --version >expect &&
	test_cmp expect out &&
	grep "^zcnc [0-9]" out
'

test_expect_success 'the installed binary reads its configs in sysconfdir/zcnc by default' '
	if test -e "$sysconfdir/zcnc/agent.cfg"; then
		echo "$sysconfdir/zcnc/agent.cfg exists on this machine: not checked"
	else
		test_must_fail "$D$bindir/zcnc" nodes 2>err &&
		cat err &&
		grep "$sysconfdir/zcnc/agent.cfg: No such file or directory" err
	fi
'

test_expect_success 'the sample configs and the units name the installed paths' '
	grep "^    keys = $sysconfdir/zcnc/keys$" "$D$sysconfdir/zcnc/hub.cfg" &&
	grep "^    keys = $sysconfdir/zcnc/keys$" "$D$sysconfdir/zcnc/agent.cfg" &&
	grep "^    data = /var/lib/zcnc/hub1$" "$D$sysconfdir/zcnc/hub.cfg" &&
	if test "$systemdsystemunitdir" != no; then
		grep "^ExecStart=$bindir/zcnc hub -c $sysconfdir/zcnc/hub.cfg$" "$D$systemdsystemunitdir/zcnc-hub.service" &&
		grep "^ExecStart=$bindir/zcnc agent -c $sysconfdir/zcnc/agent.cfg$" "$D$systemdsystemunitdir/zcnc-agent.service" &&
		grep "^User=zcnc$" "$D$systemdsystemunitdir/zcnc-hub.service" &&
		grep "^StateDirectory=zcnc$" "$D$systemdsystemunitdir/zcnc-agent.service" &&
		grep "cp $pkgdatadir/zcnc-agent-root.conf " "$D$systemdsystemunitdir/zcnc-agent.service" &&
		! grep "@[a-z]*@" "$D$systemdsystemunitdir"/zcnc-*.service
	fi &&
	if test "$tmpfilesdir" != no; then
		grep "^d $sysconfdir/zcnc/keys 0700 zcnc zcnc -$" "$D$tmpfilesdir/zcnc.conf"
	fi
'

command -v systemd-analyze >/dev/null 2>&1 && test "$systemdsystemunitdir" != no &&
	test_set_prereq SYSTEMD_ANALYZE
test_expect_success SYSTEMD_ANALYZE 'systemd-analyze verify accepts the units and the drop-in' '
	mkdir units units/zcnc-agent.service.d &&
	for unit in zcnc-hub.service zcnc-agent.service; do
		sed -e "s|^ExecStart=$bindir/zcnc |ExecStart=$D$bindir/zcnc |" \
			"$D$systemdsystemunitdir/$unit" >"units/$unit" || return 1
	done &&
	cp "$D$pkgdatadir/zcnc-agent-root.conf" units/zcnc-agent.service.d/ &&
	SYSTEMD_UNIT_PATH="$SCRATCH/units:" systemd-analyze verify --man=no \
		units/zcnc-hub.service units/zcnc-agent.service >out 2>&1;
	status=$?
	cat out
	test $status = 0 && ! test -s out
'

test_expect_success 'the installed demo runs a mesh with the installed binary' '
	PATH="$D$bindir:$PATH" sh "$D$pkgdatadir/demo.sh" >out 2>err;
	status=$?
	cat out err &&
	test $status = 0 &&
	grep "^\$ zcnc trigger ALL:uname -a" out &&
	grep "^# exit status 0$" out
'

test_expect_success 'the demo says when it finds no zcnc' '
	test_expect_code 125 env PATH=/nonexistent /bin/sh "$D$pkgdatadir/demo.sh" 2>err &&
	grep "^demo: no zcnc in PATH (give its path: sh demo.sh PATH_TO_ZCNC)$" err &&
	test_expect_code 125 sh "$D$pkgdatadir/demo.sh" "$SCRATCH/nothing" 2>err &&
	grep "^demo: $SCRATCH/nothing is not an executable (build it first: make)$" err &&
	test_expect_code 2 sh "$D$pkgdatadir/demo.sh" a b 2>err &&
	grep "^usage: sh demo.sh \[PATH_TO_ZCNC \[--dot FILE\]\]$" err
'

test_expect_success 'install again keeps a config the user changed, and says so' '
	echo "# mine" >>"$D$sysconfdir/zcnc/hub.cfg" &&
	cp "$D$sysconfdir/zcnc/hub.cfg" mine.cfg &&
	zc_make install DESTDIR="$D" >out 2>&1 &&
	cat out &&
	grep "^install: kept $D$sysconfdir/zcnc/hub.cfg as it was (the sample is not installed over it)$" out &&
	grep "^install: kept $D$sysconfdir/zcnc/agent.cfg as it was" out &&
	test_cmp mine.cfg "$D$sysconfdir/zcnc/hub.cfg"
'

test_expect_success 'make uninstall removes every file but the changed config, and names it' '
	zc_make uninstall DESTDIR="$D" >out 2>&1 &&
	cat out &&
	grep "^uninstall: kept $D$sysconfdir/zcnc/hub.cfg (changed since it was installed)$" out &&
	files_under "$D" >left &&
	echo "./${sysconfdir#/}/zcnc/hub.cfg" >expect &&
	test_cmp expect left
'

test_expect_success 'install then uninstall over nothing leaves no file behind' '
	rm -rf "$D" &&
	zc_make install DESTDIR="$D" >out 2>&1 &&
	zc_make uninstall DESTDIR="$D" >out 2>&1 &&
	cat out &&
	files_under "$D" >left &&
	! test -s left
'

test_done
