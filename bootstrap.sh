#!/bin/sh
#  Installs the Debian packages zcnc builds and tests with (when missing),
#  then generates ./configure.
set -e
packages="build-essential autoconf automake libtool pkg-config libzmq3-dev
libczmq-dev libsodium-dev liblmdb-dev libjansson-dev libcurl4-openssl-dev libssl-dev valgrind groff-base mandoc
socat netcat-openbsd"
#  Graphviz: `zcnc nodes --dot` output is checked with dot (tests, make mesh-svg).
packages="$packages graphviz"
missing=""
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "bootstrap: installing$missing"
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
fi
mkdir -p build-aux m4
autoreconf -fi
#  automake's TAP driver runs the tests; it is not installed by autoreconf.
cp "$(automake --print-libdir)/tap-driver.sh" build-aux/
