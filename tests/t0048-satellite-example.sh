#!/bin/sh
test_description='the example config set of a site behind a satellite link (etc/satellite) works as written'
: "${ZCNC_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$(dirname "$0")/test-lib.sh"

EXAMPLES=$ZCNC_SRC/etc/satellite

# An example config as SCRATCH/NAME.cfg, with this test's paths and
# loopback endpoints for the example's: central.example.org becomes
# $2, site1-hub.site1.example.org the site hub's endpoint when it is
# known ($3).
install_example () {
	sed -e "s|/etc/zcnc/keys|$KEYS|" \
	    -e "s|/var/lib/zcnc/|$SCRATCH/|" \
	    -e "s|tcp://\*:7710|tcp://127.0.0.1:*|" \
	    -e "s|tcp://central.example.org:7710|${2:-tcp://127.0.0.1:1}|" \
	    -e "s|tcp://site1-hub.site1.example.org:7710|${3:-tcp://127.0.0.1:1}|" \
	    "$EXAMPLES/$1.cfg" >"$SCRATCH/$1.cfg"
}

test_expect_success 'each example config passes the check of its daemon' '
	make_keys --hub central site1-hub &&
	make_keys pump-1 ops &&
	for name in central site1-hub pump-1 ops; do install_example $name || return 1; done &&
	"$ZCNC" hub -n -c central.cfg &&
	"$ZCNC" hub -n -c site1-hub.cfg &&
	"$ZCNC" agent -n -c pump-1.cfg &&
	"$ZCNC" agent -n -c ops.cfg
'

test_expect_success 'brought up on loopback, the satellite a proxy: ops runs a job on pump-1' '
	zc_start central hub &&
	zc_wait_started central "test -s $SCRATCH/central/endpoints" &&
	central=$(hub_endpoint central) &&
	start_proxy sat --to "${central#tcp://}" &&
	install_example site1-hub "tcp://127.0.0.1:$(cat sat.port)" &&
	zc_start site1-hub hub &&
	zc_wait_started site1-hub "test -s $SCRATCH/site1-hub/endpoints" &&
	install_example pump-1 "" "$(hub_endpoint site1-hub)" &&
	install_example ops "$central" &&
	zc_start pump-1 agent &&
	zc_start ops agent &&
	wait_for "nodes_online ops pump-1" &&
	zcnc_as ops trigger -t 30 "pump-1:echo hello from the site" >out &&
	echo "hello from the site" >expect &&
	test_cmp expect out
'

test_expect_success 'labels of the example select the pump' '
	zcnc_as ops trigger -t 30 --where role=pump --where site=site1 "ALL:echo selected" >out &&
	echo "pump-1: selected" >expect &&
	test_cmp expect out
'

test_expect_success 'a job sent while the satellite is down runs when it is back' '
	proxy_ctl sat blackhole &&
	id=$(zcnc_as ops trigger --async "pump-1:echo after the outage") &&
	sleep 2 &&
	zcnc_as ops jobs --json "$id" >state &&
	! grep -q "\"state\":\"done\"" state &&
	proxy_ctl sat pass &&
	WAIT_TRIES=600 wait_for "zcnc_as ops jobs --json $id | grep -q done" &&
	zcnc_as ops jobs --json "$id" | grep "after the outage"
'

test_done
