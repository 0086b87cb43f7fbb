#!/bin/sh
test_description='how jobs run: as whom, where, with which environment, and what reaches a shell'
. "$(dirname "$0")/test-lib.sh"

# The agents' own environment holds these; their jobs must not see them
# unless pass_env names them.
SECRET_X=1
ZC_PASSED='passed on'
export SECRET_X ZC_PASSED
unset ZC_NOT_SET

test "$(id -u)" = 0 && test_set_prereq ROOT
# Not root, or root able to run a command as nobody.
if ! test_have_prereq ROOT || command -v setpriv >/dev/null 2>&1
then
	test_set_prereq NOT_ROOT_TOO
fi

# as_not_root COMMAND...: runs COMMAND as nobody when we are root.
as_not_root () {
	if test_have_prereq ROOT
	then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}

# json_field FILE FIELD: FIELD of the first JSON object in FILE.
json_field () {
	python3 -c 'import json, sys; sys.stdout.write(str(json.loads(open(sys.argv[1]).readline())[sys.argv[2]]))' "$1" "$2"
}

# job_env FILE: the sorted environment a job printed with `env` (its
# --json answer in FILE), without PWD, which the shell adds itself.
job_env () {
	json_field "$1" stdout | grep -v "^PWD=" | LC_ALL=C sort
}

# home_of USER: USER's home directory, or / when it has none.
home_of () {
	local home
	home=$(getent passwd "$1" | cut -d: -f6)
	if test -n "$home" && test -d "$home"; then echo "$home"; else echo /; fi
}

# start_exec_agent NAME [LINE...]: start_agent NAME hub1 LINE..., minus
# any job settings the test library may default to (agent/workdir): the
# configs here say all about how jobs run.
start_exec_agent () {
	local name=$1
	shift
	write_config "$SCRATCH/$name.cfg" "$@" -- \
		"zcnc/name = $name" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/$name" \
		"zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" \
		"agent/hub = hub1@$(hub_endpoint hub1)" &&
	zc_start "$name" agent &&
	zc_wait_started "$name" "agent_connected $name"
}

# start_grouped_agent NAME [LINE...]: start_exec_agent, the agent having
# the supplementary groups 4 and 27 (which its jobs must not get) when
# setpriv can give them.
start_grouped_agent () {
	local real=$ZCNC status
	if command -v setpriv >/dev/null 2>&1
	then
		printf "#!/bin/sh\nexec setpriv --groups 4,27 -- \"%s\" \"\$@\"\n" "$ZCNC" >"$SCRATCH/zcnc-grouped" &&
		chmod +x "$SCRATCH/zcnc-grouped" &&
		ZCNC=$SCRATCH/zcnc-grouped
	fi
	start_exec_agent "$@"
	status=$?
	ZCNC=$real
	return $status
}

test_expect_success 'setup: n1 with a job environment configured, n2 running jobs as nobody when root' '
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 n4 &&
	start_hub hub1 &&
	start_exec_agent n1 "agent/path = /usr/bin:/bin" \
		"agent/env = \"ZC_GREETING=hello  world # not a comment\"" "agent/env = LANG=C" \
		"agent/pass_env = ZC_PASSED" "agent/pass_env = ZC_NOT_SET" "agent/max_output = 1024" &&
	if test_have_prereq ROOT
	then
		start_grouped_agent n2 "agent/run_as_user = nobody"
	else
		start_exec_agent n2
	fi &&
	wait_for nodes_online n1 n1 n2
'

test_expect_success 'the agent has a secret in its environment; its jobs do not see it' '
	tr "\000" "\n" </proc/$(daemon_pid n1)/environ | grep -x "SECRET_X=1" &&
	zcnc_as n1 trigger n1:env >out &&
	! grep SECRET_X out &&
	zcnc_as n1 trigger n2:env >out &&
	! grep SECRET_X out
'

test_expect_success 'a job gets PATH, HOME, USER, LOGNAME, SHELL, LANG, env, pass_env, its ID and origin' '
	zcnc_as n2 trigger --json n1:env >out &&
	id=$(json_field out id) &&
	user=$(id -un) &&
	cat >expect <<-EOF &&
	HOME=$(getent passwd "$user" | cut -d: -f6)
	LANG=C
	LOGNAME=$user
	PATH=/usr/bin:/bin
	SHELL=/bin/sh
	USER=$user
	ZCNC_JOB_ID=$id
	ZCNC_ORIGIN=n2
	ZC_GREETING=hello  world # not a comment
	ZC_PASSED=passed on
	EOF
	job_env out >env &&
	test_cmp expect env &&
	case $id in *.n1) ;; *) false ;; esac
'

test_expect_success 'without path or env keys: the default PATH and LANG=C.UTF-8, for the job user' '
	zcnc_as n1 trigger --json n2:env >out &&
	if test_have_prereq ROOT; then user=nobody; else user=$(id -un); fi &&
	cat >expect <<-EOF &&
	HOME=$(getent passwd "$user" | cut -d: -f6)
	LANG=C.UTF-8
	LOGNAME=$user
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	SHELL=/bin/sh
	USER=$user
	ZCNC_JOB_ID=$(json_field out id)
	ZCNC_ORIGIN=n1
	EOF
	job_env out >env &&
	test_cmp expect env
'

test_expect_success 'a job starts in its user'"'"'s home directory, or in / when there is none' '
	zcnc_as n1 trigger n1:pwd >out &&
	home_of "$(id -un)" >expect &&
	test_cmp expect out &&
	zcnc_as n1 trigger n2:pwd >out &&
	if test_have_prereq ROOT; then home_of nobody; else home_of "$(id -un)"; fi >expect &&
	test_cmp expect out
'

test_expect_success 'workdir sets where jobs start; when it is gone, jobs fail and do not run' '
	mkdir work &&
	start_exec_agent n3 "agent/workdir = $SCRATCH/work" &&
	zcnc_as n1 trigger n3:pwd >out &&
	echo "$SCRATCH/work" >expect &&
	test_cmp expect out &&
	rmdir work &&
	test_must_fail zcnc_as n1 trigger --json "n3:touch $SCRATCH/ran" >out &&
	test_json out "J[\"state\"] == \"failed\" and J[\"error\"] == \"cannot enter working directory $SCRATCH/work: No such file or directory (check agent/workdir)\"" &&
	test ! -e ran
'

test_expect_success ROOT 'run_as_user: the job runs as nobody, with its primary group and its groups only' '
	if command -v setpriv >/dev/null
	then
		grep -x "Groups:	4 27 " /proc/$(daemon_pid n2)/status
	fi &&
	zcnc_as n1 trigger "n2:id -un; id -u; id -g; id -G" >out &&
	{ echo nobody; id -u nobody; id -g nobody; id -G nobody; } >expect &&
	test_cmp expect out
'

test_expect_success ROOT 'a job run as nobody cannot become root again' '
	zcnc_as n1 trigger "n2:grep -E \"^(Uid|Gid|CapPrm|CapEff):\" /proc/self/status" >out &&
	printf "Uid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\n" >expect &&
	printf "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n" >>expect &&
	test_cmp expect out &&
	test_expect_code 1 zcnc_as n1 trigger "n2:python3 -c \"import os; os.setuid(0)\"" 2>err &&
	grep "PermissionError: \[Errno 1\] Operation not permitted" err
'

test_expect_success ROOT 'run_as_group: that group is the primary one, with the user'"'"'s groups' '
	start_exec_agent n4 "agent/run_as_user = nobody" "agent/run_as_group = daemon" &&
	zcnc_as n1 trigger "n4:id -u; id -g; id -G | tr \" \" \"\\n\" | sort -n" >out &&
	{
		id -u nobody &&
		getent group daemon | cut -d: -f3 &&
		python3 -c "import grp, os; print(*sorted(set(os.getgrouplist(\"nobody\", grp.getgrnam(\"daemon\").gr_gid))), sep=\"\\n\")"
	} >expect &&
	test_cmp expect out
'

# check_refused CONFIG MESSAGE: both `zcnc agent -n` and a real start
# exit 1 at once with MESSAGE.
check_refused () {
	test_expect_code 1 "$ZCNC" agent -n -c "$1" 2>err &&
	grep -F -x "zcnc: $2" err &&
	test_expect_code 1 timeout 10 "$ZCNC" agent -c "$1" 2>err &&
	grep -F -x "zcnc: $2" err
}

# bad_agent FILE LINE: an agent config whose agent section starts with LINE
# (line 6).
bad_agent () {
	write_config "$1" "$2" -- "zcnc/name = n5" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n5" \
		"agent/hub = hub1@$(hub_endpoint hub1)"
}

test_expect_success 'an unknown run_as_user or run_as_group: the agent refuses to start, saying why' '
	bad_agent user.cfg "agent/run_as_user = zc-no-such-user" &&
	check_refused user.cfg "user.cfg:6: agent/run_as_user: no such user '"'"'zc-no-such-user'"'"' (create it, or give an existing user or a uid)" &&
	bad_agent group.cfg "agent/run_as_group = zc-no-such-group" &&
	check_refused group.cfg "group.cfg:6: agent/run_as_group: no such group '"'"'zc-no-such-group'"'"' (create it, or give an existing group or a gid)" &&
	test ! -e n5/store
'

test_expect_success NOT_ROOT_TOO 'an agent that is not root refuses run_as_user: it could not switch' '
	bad_agent root.cfg "agent/run_as_user = root" &&
	chmod 644 root.cfg &&
	chmod 711 "$SCRATCH" &&
	{
		as_not_root "$ZCNC" agent -n -c "$SCRATCH/root.cfg" 2>err
		status=$?
		chmod 700 "$SCRATCH"
	} &&
	test "$status" = 1 &&
	uid=$(as_not_root id -u) && gid=$(as_not_root id -g) &&
	grep -F -x "zcnc: $SCRATCH/root.cfg:6: agent/run_as_user: the agent must run as root to switch jobs to user root (it runs as uid $uid, gid $gid; start it as root, or remove the line)" err
'

test_expect_success 'data, reply fields and paths with shell syntax are never run by a shell' '
	cat >request <<-EOF &&
	{"to": "n1", "args": ["cat"], "wait": 10,
	 "data": "\$(touch $SCRATCH/i1) \`touch $SCRATCH/i2\`; touch $SCRATCH/i3",
	 "reply_method": "none", "reply_args": ["\$(touch $SCRATCH/i4)"],
	 "directory": "\$(touch $SCRATCH/i5)", "file_name": "; touch $SCRATCH/i6"}
	EOF
	{ tr -d "\n" <request && echo; } | sock_talk n1/zcnc.sock 3 >out &&
	sed -n 2p out >job &&
	test_json job "J[\"state\"] == \"done\" and J[\"stdout\"] == \"\$(touch $SCRATCH/i1) \`touch $SCRATCH/i2\`; touch $SCRATCH/i3\"" &&
	for marker in i1 i2 i3 i4 i5 i6
	do
		test ! -e $marker || return 1
	done
'

test_expect_success 'max_output caps stdout and stderr each; the rest is discarded and flagged' '
	zcnc_as n2 trigger --json "n1:head -c 5000 /dev/zero | tr \"\\000\" a; head -c 3000 /dev/zero | tr \"\\000\" b >&2" >out &&
	test_json out "J[\"truncated\"] is True and J[\"stdout\"] == \"a\" * 1024 and J[\"stderr\"] == \"b\" * 1024" &&
	zcnc_as n2 trigger --json "n1:head -c 1024 /dev/zero | tr \"\\000\" a" >out &&
	test_json out "not J.get(\"truncated\") and len(J[\"stdout\"]) == 1024"
'

test_done
