#!/usr/bin/env bash
# A cluster of N "machines" on this one machine, for MPI jobs whose traffic crosses a shaped
# link: network namespaces ns1..nsN, each with one veth (eth0, 10.77.0.K/24) into the bridge
# cbr0 of the root namespace (10.77.0.254), each namespace's egress shaped by a token bucket
# (tbf, 1 Gbit/s by default). Run as root.
#
#   bench/distributed/netns_cluster.sh up [N]         create ns1..nsN (N = 4 by default)
#   bench/distributed/netns_cluster.sh down           remove everything `up` created
#   bench/distributed/netns_cluster.sh status         addresses, qdiscs and byte counters
#   bench/distributed/netns_cluster.sh run CMD...     CMD as an MPI job, one rank per namespace,
#                                                     with each eth0's bytes sent before and after
#
# e.g. bench/distributed/netns_cluster.sh up
#      PYTHONPATH=python bench/distributed/netns_cluster.sh run \
#          python3 bench/distributed_scaling.py --worker corten --model mlp
#
# `run` is MPICH's mpirun (hydra) with its ssh launcher replaced by netns_exec.sh (which runs
# hydra's proxy for host 10.77.0.K inside `ip netns exec nsK`), `-iface cbr0` (mpiexec listens
# for the proxies on the bridge's address; 127.0.0.1, its default, is each namespace's own
# loopback), `-hosts 10.77.0.1,...` (one rank per namespace, so MPICH sees N nodes and uses no
# shared memory between them) and UCX_TLS=tcp: the processes share one kernel, so UCX, MPICH's
# default netmod here, would otherwise reach the other "nodes" through shared memory and
# nothing would cross the veths (MPIR_CVAR_CH4_NETMOD=ofi FI_PROVIDER=tcp works too).
# MPIRUN (default: the mpirun next to python3) and NP (default: every namespace) change it.
#
# RATE (default 1gbit) and BURST (default 128kb) set the token bucket. DELAY_US (default 0)
# delays every packet a namespace sends, as `netem delay` would: this kernel has no sch_netem,
# nor any other qdisc that holds a packet until a time, so an iptables NFQUEUE rule hands each
# packet to netdelay.c, which lets it go DELAY_US later (bench/README.md, "Scaling across
# shaped links").
set -euo pipefail

BRIDGE=cbr0
PREFIX=10.77.0
RATE=${RATE:-1gbit}
DELAY_US=${DELAY_US:-0}
BURST=${BURST:-128kb}
HERE=$(cd "$(dirname "$0")" && pwd)
host_list() { namespaces | sed "s/^ns/$PREFIX./" | paste -sd, -; }

die() { echo "netns_cluster.sh: $*" >&2; exit 1; }

namespaces() { ip netns list | awk '{print $1}' | grep -E '^ns[0-9]+$' | sort -V || true; }

up() {
  local n=${1:-4} k
  [ "$(id -u)" = 0 ] || die "must be run as root"
  [ "$n" -ge 1 ] && [ "$n" -le 253 ] || die "N must be in 1..253; got $n"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then die "$BRIDGE exists: run '$0 down' first"; fi
  ip link add "$BRIDGE" type bridge
  ip addr add "$PREFIX.254/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for k in $(seq 1 "$n"); do
    ip netns add "ns$k"
    ip -n "ns$k" link set lo up
    # veth$k stays in the root namespace, on the bridge; its peer is eth0 inside ns$k.
    ip link add "veth$k" type veth peer name eth0 netns "ns$k"
    ip link set "veth$k" master "$BRIDGE" up
    ip -n "ns$k" addr add "$PREFIX.$k/24" dev eth0
    ip -n "ns$k" link set eth0 up
    # Everything ns$k sends (to the other namespaces and to the root namespace) leaves through
    # this token bucket.
    tc -n "ns$k" qdisc add dev eth0 root tbf rate "$RATE" burst "$BURST" latency 50ms
    if [ "$DELAY_US" -gt 0 ]; then
      # netem's delay, from user space: every packet ns$k sends waits DELAY_US in netdelay.
      ip netns exec "ns$k" iptables -A OUTPUT -o eth0 -j NFQUEUE --queue-num 0
      ip netns exec "ns$k" setsid "$(netdelay)" 0 "$DELAY_US" >/dev/null 2>&1 < /dev/null &
    fi
  done
  echo "up: $n namespaces ns1..ns$n at $PREFIX.1-$n, bridge $BRIDGE at $PREFIX.254, egress $RATE," \
    "delay ${DELAY_US} us"
}

# netdelay.c compiled once (it needs libnetfilter-queue-dev and iptables' NFQUEUE target).
netdelay() {
  local dir=${TMPDIR:-/tmp}/corten-netdelay
  mkdir -p "$dir"
  if [ ! -x "$dir/netdelay" ] || [ "$HERE/netdelay.c" -nt "$dir/netdelay" ]; then
    cc -O2 -Wall -o "$dir/netdelay" "$HERE/netdelay.c" -lnetfilter_queue ||
      die "cannot build netdelay.c: apt-get install libnetfilter-queue-dev"
  fi
  echo "$dir/netdelay"
}

down() {
  local ns
  [ "$(id -u)" = 0 ] || die "must be run as root"
  for ns in $(namespaces); do
    ip netns pids "$ns" | xargs -r kill 2>/dev/null || true
    ip netns del "$ns"  # removes its eth0, and with it the veth peer on the bridge
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
  echo "down"
}

status() {
  local ns
  ip -br addr show "$BRIDGE" 2>/dev/null || echo "no $BRIDGE"
  for ns in $(namespaces); do
    echo "== $ns"
    ip -n "$ns" -br addr show eth0
    tc -n "$ns" qdisc show dev eth0
    ip -n "$ns" -s link show eth0 | sed -n '3,6p'
  done
}

tx_bytes() {
  local ns
  for ns in $(namespaces); do
    printf '%s=%s ' "$ns" "$(ip netns exec "$ns" cat /sys/class/net/eth0/statistics/tx_bytes)"
  done
  echo
}

run() {
  [ "$(id -u)" = 0 ] || die "must be run as root"
  [ $# -gt 0 ] || die "run: no command"
  local hosts n mpirun rc=0
  hosts=$(host_list)
  [ -n "$hosts" ] || die "no namespaces: run '$0 up' first"
  n=$(echo "$hosts" | tr ',' '\n' | wc -l)
  mpirun=${MPIRUN:-$(dirname "$(python3 -c 'import sys; print(sys.executable)')")/mpirun}
  echo "eth0 bytes sent before: $(tx_bytes)" >&2
  UCX_TLS=${UCX_TLS:-tcp} "$mpirun" -launcher ssh -launcher-exec "$HERE/netns_exec.sh" \
    -iface "$BRIDGE" -hosts "$hosts" -np "${NP:-$n}" "$@" || rc=$?
  echo "eth0 bytes sent after:  $(tx_bytes)" >&2
  return $rc
}

case "${1:-}" in
  up) up "${2:-4}" ;;
  down) down ;;
  status) status ;;
  run) shift; run "$@" ;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2 ;;
esac
