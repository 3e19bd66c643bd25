#!/usr/bin/env bash
# A local Redis Cluster of 3 masters and 3 replicas on 127.0.0.1, ports
# 7000-7005 (cluster bus 17000-17005), with the append-only file on.
#
#   deploy/redis-cluster.sh start  [DIR]   start the nodes, create the cluster
#                                          the first time, wait for
#                                          cluster_state:ok, print the addresses
#   deploy/redis-cluster.sh stop   [DIR]   stop the nodes started from DIR
#   deploy/redis-cluster.sh status [DIR]   each node's pid and role; exits 1
#                                          unless all run and the cluster is ok
#
# DIR (default ./redis-cluster) holds a directory per node: its redis.conf,
# pid file, log, nodes.conf and append-only file. A second start with the
# same DIR brings the same cluster back with its data. It needs redis-server
# and redis-cli (apt-get install redis-server redis-tools).
set -euo pipefail

ports=(7000 7001 7002 7003 7004 7005)
replicas=1
ready_timeout=10   # seconds for a node to answer PING
cluster_timeout=30 # seconds for cluster_state:ok on every node
stop_timeout=10    # seconds for a node to exit after SIGTERM, before SIGKILL

usage() {
	echo "usage: $0 start|stop|status [DIR]" >&2
	exit 2
}

die() {
	echo "redis-cluster: $*" >&2
	exit 1
}

# cli PORT ARGS...: redis-cli against one node, bounded in time.
cli() {
	local port=$1
	shift
	timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

# field PORT FIELD ARGS...: a field of the INFO-like reply to ARGS.
field() {
	local port=$1 name=$2
	shift 2
	cli "$port" "$@" 2>/dev/null | tr -d '\r' | sed -n "s/^$name://p"
}

# pid_of PORT: the pid in the node's pid file if that process is the
# redis-server of this port, else nothing.
pid_of() {
	local file="$dir/$1/redis.pid" pid
	[ -f "$file" ] || return 0
	pid=$(<"$file")
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "redis-server.*:$1\b"; then
		echo "$pid"
	fi
}

# alive PID: whether the process is there and not a zombie.
alive() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# in_use PORT: whether something listens on 127.0.0.1:PORT.
in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_config() {
	local port=$1 node="$dir/$1"
	mkdir -p "$node"
	cat >"$node/redis.conf" <<EOF
bind 127.0.0.1
port $port
dir "$node"
daemonize yes
pidfile "$node/redis.pid"
logfile "$node/redis.log"
save ""
appendonly yes
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 5000
EOF
}

start() {
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		die "redis-server and redis-cli are needed: apt-get install redis-server redis-tools"
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	local port addrs=() todo=() i
	for port in "${ports[@]}"; do # every port is checked before a node starts
		addrs+=("127.0.0.1:$port")
		if [ -n "$(pid_of "$port")" ]; then
			echo "node $port is already running" >&2
		elif in_use "$port" || in_use $((port + 10000)); then
			die "port $port or its cluster bus $((port + 10000)) is taken by a process this script did not start"
		else
			todo+=("$port")
		fi
	done
	for port in "${todo[@]}"; do
		write_config "$port"
		redis-server "$dir/$port/redis.conf"
	done
	for port in "${ports[@]}"; do
		for ((i = 0; i < ready_timeout * 10; i++)); do
			[ "$(cli "$port" ping 2>/dev/null)" = PONG ] && break
			sleep 0.1
		done
		[ "$(cli "$port" ping 2>/dev/null)" = PONG ] ||
			die "node $port does not answer PING after ${ready_timeout}s; see $dir/$port/redis.log"
	done

	# The first start creates the cluster; a later one finds it in nodes.conf.
	if [ "$(field "${ports[0]}" cluster_known_nodes cluster info)" != "${#ports[@]}" ]; then
		echo "creating the cluster" >&2
		timeout "$cluster_timeout" redis-cli --cluster create "${addrs[@]}" \
			--cluster-replicas "$replicas" --cluster-yes >"$dir/create.log" 2>&1 ||
			die "redis-cli --cluster create failed; see $dir/create.log"
	fi

	local deadline=$((SECONDS + cluster_timeout)) ok
	while :; do
		ok=1
		for port in "${ports[@]}"; do
			[ "$(field "$port" cluster_state cluster info)" = ok ] || ok=0
		done
		[ "$ok" = 1 ] && break
		[ "$SECONDS" -lt "$deadline" ] || die "cluster_state is not ok on every node after ${cluster_timeout}s"
		sleep 0.2
	done
	local IFS=,
	echo "${addrs[*]}"
}

stop() {
	[ -d "$dir" ] || die "$dir does not exist: nothing was started there"
	local port pid i
	for port in "${ports[@]}"; do
		pid=$(pid_of "$port")
		if [ -z "$pid" ]; then
			echo "node $port is not running" >&2
			continue
		fi
		# SIGTERM again until it exits: Redis ignores one it cannot act on
		# yet (a replica writing its first append-only file).
		for ((i = 0; i < stop_timeout * 5; i++)); do
			kill -TERM "$pid" 2>/dev/null || break
			sleep 0.2
			alive "$pid" || break
		done
		if alive "$pid"; then
			echo "node $port (pid $pid) did not exit within ${stop_timeout}s of SIGTERM: killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			rm -f "$dir/$port/redis.pid"
		fi
		echo "stopped node $port (pid $pid)" >&2
	done
}

status() {
	[ -d "$dir" ] || die "$dir does not exist: nothing was started there"
	local port pid all=0
	for port in "${ports[@]}"; do
		pid=$(pid_of "$port")
		if [ -z "$pid" ]; then
			echo "127.0.0.1:$port not running"
			all=1
			continue
		fi
		echo "127.0.0.1:$port pid $pid $(field "$port" role info replication) cluster_state:$(field "$port" cluster_state cluster info)"
		[ "$(field "$port" cluster_state cluster info)" = ok ] || all=1
	done
	return "$all"
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
dir=${2:-./redis-cluster}
case $1 in
start) start ;;
stop) stop ;;
status) status ;;
*) usage ;;
esac
