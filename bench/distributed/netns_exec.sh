#!/usr/bin/env bash
# mpiexec's "ssh" for the namespaces of netns_cluster.sh: hydra runs
#   netns_exec.sh [ssh options] HOST COMMAND...
# and this runs COMMAND (a remote shell's command line, as ssh would pass it) inside the
# namespace that holds HOST: 10.77.0.K -> nsK. Used through
#   mpirun -launcher ssh -launcher-exec $PWD/bench/distributed/netns_exec.sh -iface cbr0 ...
# (netns_cluster.sh run does it).
set -euo pipefail
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done  # ssh options such as -x
host=${1:?netns_exec.sh: no host}
shift
case "$host" in
  10.77.0.[0-9]*) ns=ns${host##*.} ;;
  ns[0-9]*) ns=$host ;;
  *) echo "netns_exec.sh: $host is not a namespace host (10.77.0.K or nsK)" >&2; exit 255 ;;
esac
exec ip netns exec "$ns" /bin/sh -c "$*"
