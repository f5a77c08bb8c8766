# netns.sh: throwaway hosts for tests and benchmarks, as network namespaces
# joined by veth pairs. Source it from bash, then call fr_netns_init:
#
#   source test/netns/netns.sh
#   fr_netns_init
#   fr_host_add origin; fr_host_add relay; fr_host_add sub
#   fr_link origin relay 198.18.1.1/24 198.18.1.2/24
#   fr_link relay sub 198.18.2.1/24 198.18.2.2/24
#   fr_forwarding relay
#   fr_route origin 198.18.2.0/24 "$(fr_addr relay origin)"
#   fr_route sub 198.18.1.0/24 "$(fr_addr relay sub)"
#   fr_impair sub relay ingress --loss 1 --seed 7 --udp-only
#   fr_exec sub some-command ...
#
# Rules kept here:
# - Host H lives in namespace "fr<PID>-H" (PID of the sourcing shell). On
#   host A, the interface leading to host B is named B.
# - Addresses and routes must lie in 198.18.0.0/15; IPv6 is disabled in every
#   host, and neighbours on each link are set permanently, so links carry no
#   ARP, ND or other background traffic.
# - Everything is undone on EXIT, INT, TERM and HUP: background jobs, their
#   namespaces, temporary files. fr_netns_init also removes what an earlier,
#   killed run left behind: namespaces "fr<PID>-*" whose PID is gone (veths
#   are only ever created inside namespaces, so they go with them; the one
#   end fr_link_machine puts in the machine's own namespace goes with its
#   peer).
# - fr_netns_init installs the EXIT, INT, TERM and HUP traps; a test must not
#   replace them. Start background processes with fr_spawn (not with
#   "fr_exec ... &") so that they are tracked and stopped cleanly. Functions
#   that start, wait for or stop jobs keep state in this shell: call them
#   directly, never in $(...) or a pipeline.
# - Written for "set -euo pipefail" scripts: failures exit via fr_fail.
# - Skips exit 77, or 1 when CI=true (CI must have every capability).
# - FR_KEEP_FAILED=DIR keeps a failed run's files (logs, JSON) under DIR.
# - Inline Python checks import checks.py (this directory is on
#   PYTHONPATH): the per-session and fast-path checks the tests share.
#
# fr-impair is taken from $FR_IMPAIR_BIN.

export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"

FR_NS_PREFIX=
FR_TMPDIR=
declare -gA FR_ADDRS=()  # "host/peer" -> address of host on its link to peer
declare -gA FR_JOBS=()   # job name -> pid
declare -gA FR_SYSCTLS=() # machine-wide sysctl -> its value before the run

# Parent of every run's temporary directory.
FR_TMPROOT="${TMPDIR:-/tmp}/fastrelay-netns"

fr_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# fr_fail MESSAGE: fails the test.
fr_fail() {
    fr_log "FAIL: $*"
    exit 1
}

# fr_skip REASON: skips the test (exit 77), or fails it when CI=true.
fr_skip() {
    if [[ ${CI:-} == true ]]; then
        fr_log "FAIL: required capability missing in CI: $*"
        exit 1
    fi
    fr_log "SKIP: $*"
    exit 77
}

fr_require_root() {
    [[ $EUID -eq 0 ]] || fr_skip "needs root (network namespaces, BPF)"
}

# fr_require_cmd COMMAND...: skips unless every command is available.
fr_require_cmd() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null || fr_skip "needs the '$cmd' command"
    done
}

# fr_ns HOST: prints the namespace name of HOST.
fr_ns() { printf '%s-%s\n' "$FR_NS_PREFIX" "$1"; }

# True when $1 (ADDR or ADDR/LEN) is an IPv4 address or prefix inside
# 198.18.0.0/15.
_fr_in_bench_range() {
    local octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
    [[ $1 =~ ^198\.(18|19)\.$octet\.$octet(/(1[5-9]|2[0-9]|3[0-2]))?$ ]]
}

_fr_check_addr() {
    _fr_in_bench_range "$1" ||
        fr_fail "address '$1' is outside 198.18.0.0/15 (or malformed)"
}

_fr_check_host() {
    [[ -n ${FR_NS_PREFIX} ]] || fr_fail "call fr_netns_init first"
    [[ -e /run/netns/$(fr_ns "$1") ]] ||
        fr_fail "no host '$1' (create it with fr_host_add)"
}

# Ends every process inside namespace $1 (SIGTERM, then SIGKILL after two
# seconds), then deletes it.
_fr_ns_delete() {
    local ns=$1 pids i
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
    if ((${#pids[@]})); then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        for ((i = 0; i < 40; i++)); do
            [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break
            sleep 0.05
        done
        mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
        ((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
}

# True when $1 is the PID of an earlier run that is gone.
_fr_run_gone() {
    [[ $1 != "$$" ]] && ! kill -0 "$1" 2>/dev/null
}

# Removes namespaces and temporary directories of earlier runs whose shell
# is gone.
fr_netns_cleanup_stale() {
    local ns pid dir
    for ns in $(ip netns list | awk '{ print $1 }'); do
        [[ $ns =~ ^fr([0-9]+)- ]] || continue
        pid=${BASH_REMATCH[1]}
        _fr_run_gone "$pid" || continue
        fr_log "removing stale namespace $ns (its run, pid $pid, is gone)"
        _fr_ns_delete "$ns"
    done
    for dir in "$FR_TMPROOT"/fr*; do
        [[ -d $dir && ${dir##*/} =~ ^fr([0-9]+)\. ]] || continue
        pid=${BASH_REMATCH[1]}
        _fr_run_gone "$pid" || continue
        rm -rf -- "$dir"
    done
}

# Trap handler: stops the jobs, deletes this run's namespaces and files. On
# failure it first shows the end of every job's log.
fr_netns_cleanup() {
    local rc=$? name ns log
    set +e
    trap - EXIT INT TERM HUP
    for name in "${!FR_JOBS[@]}"; do
        fr_stop "$name" 2 >/dev/null
    done
    for name in "${!FR_SYSCTLS[@]}"; do
        sysctl -q -w "$name=${FR_SYSCTLS[$name]}" >/dev/null
    done
    if [[ -n ${FR_NS_PREFIX} ]]; then
        for ns in $(ip netns list | awk '{ print $1 }'); do
            [[ $ns == "$FR_NS_PREFIX"-* ]] && _fr_ns_delete "$ns"
        done
    fi
    if [[ -n ${FR_TMPDIR} ]]; then
        if ((rc != 0 && rc != 77)); then
            for log in "$FR_TMPDIR"/*.log; do
                [[ -s $log ]] || continue
                fr_log "--- last lines of ${log##*/}:"
                tail -n 20 "$log" >&2
            done
            if [[ -n ${FR_KEEP_FAILED:-} ]]; then
                mkdir -p "$FR_KEEP_FAILED" &&
                    cp -r -- "$FR_TMPDIR" "$FR_KEEP_FAILED/" &&
                    fr_log "this run's files are kept in $FR_KEEP_FAILED"
            fi
        fi
        rm -rf -- "$FR_TMPDIR"
    fi
    return "$rc"
}

# fr_sysctl_for_run NAME VALUE: sets a machine-wide sysctl (one that
# namespaces share, e.g. net.core.netdev_max_backlog) for this run; the
# cleanup puts the value before back.
fr_sysctl_for_run() {
    local name=$1 value=$2
    [[ -n ${FR_SYSCTLS[$name]:-} ]] ||
        FR_SYSCTLS[$name]=$(sysctl -n "$name") ||
        fr_fail "no sysctl $name"
    sysctl -q -w "$name=$value" >/dev/null || fr_fail "cannot set $name"
}

# fr_netns_init: checks privileges and tools, installs the cleanup traps,
# removes leftovers of killed runs, and checks that namespaces and veth
# pairs can be created. Sets FR_TMPDIR, a directory for this run's files.
fr_netns_init() {
    [[ -z ${FR_NS_PREFIX} ]] || fr_fail "fr_netns_init called twice"
    fr_require_root
    fr_require_cmd ip tc sysctl awk
    FR_NS_PREFIX="fr$$"
    trap fr_netns_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    fr_netns_cleanup_stale
    mkdir -p "$FR_TMPROOT"
    FR_TMPDIR=$(mktemp -d "$FR_TMPROOT/$FR_NS_PREFIX.XXXXXX")

    local probe
    probe=$(fr_ns probe)
    ip netns add "$probe" 2>/dev/null ||
        fr_skip "cannot create network namespaces"
    if ! ip -n "$probe" link add name a type veth peer name b 2>/dev/null; then
        ip netns del "$probe"
        fr_skip "the kernel has no veth support"
    fi
    ip netns del "$probe"
}

# fr_host_add HOST: creates a host: a namespace with lo up, IPv6 off and IP
# forwarding off. HOST: 1-15 lower-case letters and digits, not "lo".
fr_host_add() {
    local host=$1 ns
    [[ $host =~ ^[a-z][a-z0-9]{0,14}$ && $host != lo ]] ||
        fr_fail "host name '$host': 1-15 lower-case letters and digits," \
            "starting with a letter, not 'lo'"
    [[ -n ${FR_NS_PREFIX} ]] || fr_fail "call fr_netns_init first"
    ns=$(fr_ns "$host")
    ip netns add "$ns" || fr_fail "cannot create namespace $ns"
    ip -n "$ns" link set dev lo up
    ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 net.ipv4.ip_forward=0 >/dev/null
}

# Prints the MAC address of interface $2 in namespace $1.
_fr_mac() {
    ip -n "$1" -br link show dev "$2" | awk '{ print $3 }'
}

# fr_link HOST_A HOST_B ADDR_A/LEN ADDR_B/LEN: joins two hosts with a veth
# pair. On HOST_A the interface is named HOST_B and gets ADDR_A, and the
# other way round. Both ends are up, with permanent neighbour entries.
fr_link() {
    local a=$1 b=$2 addr_a=$3 addr_b=$4 ns_a ns_b
    [[ $# -eq 4 ]] || fr_fail "usage: fr_link HOST_A HOST_B ADDR_A/LEN ADDR_B/LEN"
    _fr_check_host "$a"
    _fr_check_host "$b"
    [[ $addr_a == */* && $addr_b == */* ]] ||
        fr_fail "fr_link needs addresses with a prefix length"
    _fr_check_addr "$addr_a"
    _fr_check_addr "$addr_b"
    ns_a=$(fr_ns "$a")
    ns_b=$(fr_ns "$b")
    ip link add name "$b" netns "$ns_a" type veth peer name "$a" netns "$ns_b" ||
        fr_fail "cannot link $a and $b"
    ip -n "$ns_a" addr add "$addr_a" dev "$b"
    ip -n "$ns_b" addr add "$addr_b" dev "$a"
    ip -n "$ns_a" link set dev "$b" up
    ip -n "$ns_b" link set dev "$a" up
    ip -n "$ns_a" neigh replace "${addr_b%/*}" dev "$b" nud permanent \
        lladdr "$(_fr_mac "$ns_b" "$a")"
    ip -n "$ns_b" neigh replace "${addr_a%/*}" dev "$a" nud permanent \
        lladdr "$(_fr_mac "$ns_a" "$b")"
    FR_ADDRS[$a/$b]=${addr_a%/*}
    FR_ADDRS[$b/$a]=${addr_b%/*}
}

# fr_link_machine HOST ADDR_HOST/LEN ADDR_MACHINE/LEN: a veth pair between
# HOST and the machine's own namespace, for a program that must run there
# (a browser on the user's display): on HOST the interface is "machine",
# on the machine "fr<PID>-HOST" (IPv6 off, neighbours permanent, the
# prefix routed to it only). It goes when HOST's namespace goes.
fr_link_machine() {
    local host=$1 addr_h=$2 addr_m=$3 ns dev
    [[ $# -eq 3 && $addr_h == */* && $addr_m == */* ]] ||
        fr_fail "usage: fr_link_machine HOST ADDR_HOST/LEN ADDR_MACHINE/LEN"
    _fr_check_host "$host"
    _fr_check_addr "$addr_h"
    _fr_check_addr "$addr_m"
    ns=$(fr_ns "$host")
    dev=${ns:0:15}
    ip link add name "$dev" type veth peer name machine netns "$ns" ||
        fr_fail "cannot link $host to the machine"
    sysctl -q -w "net.ipv6.conf.$dev.disable_ipv6=1" >/dev/null
    ip addr add "$addr_m" dev "$dev"
    ip -n "$ns" addr add "$addr_h" dev machine
    ip link set dev "$dev" up
    ip -n "$ns" link set dev machine up
    ip neigh replace "${addr_h%/*}" dev "$dev" nud permanent \
        lladdr "$(_fr_mac "$ns" machine)"
    ip -n "$ns" neigh replace "${addr_m%/*}" dev machine nud permanent \
        lladdr "$(ip -br link show dev "$dev" | awk '{ print $3 }')"
    FR_ADDRS[$host/machine]=${addr_h%/*}
}

# fr_addr HOST PEER: prints the address of HOST on its link to PEER.
fr_addr() {
    [[ -n ${FR_ADDRS[$1/$2]:-} ]] || fr_fail "no link between '$1' and '$2'"
    printf '%s\n' "${FR_ADDRS[$1/$2]}"
}

# fr_route HOST DEST/LEN VIA: routes DEST through the neighbour VIA.
fr_route() {
    [[ $# -eq 3 ]] || fr_fail "usage: fr_route HOST DEST/LEN VIA"
    _fr_check_host "$1"
    _fr_check_addr "$2"
    _fr_check_addr "$3"
    ip -n "$(fr_ns "$1")" route replace "$2" via "$3" ||
        fr_fail "cannot route $2 via $3 on $1"
}

# fr_relay_hosts: the usual relay topology: hosts origin, relay and sub,
# origin-relay on 198.18.1.0/24 (relay .2), relay-sub on 198.18.2.0/24
# (relay .1, sub .2), the origin routed to the subscribers' side through
# the relay (which does not forward: its programs and sockets relay).
fr_relay_hosts() {
    fr_host_add origin
    fr_host_add relay
    fr_host_add sub
    fr_link origin relay 198.18.1.1/24 198.18.1.2/24
    fr_link relay sub 198.18.2.1/24 198.18.2.2/24
    fr_route origin 198.18.2.0/24 198.18.1.2
}

# fr_chacha_only FILE: writes a GnuTLS system priority override
# (GNUTLS_SYSTEM_PRIORITY_FILE=FILE) under which a tool offers
# ChaCha20-Poly1305 only, the suite the kernel implements.
fr_chacha_only() {
    printf '[overrides]\ntls-disabled-cipher = AES-128-GCM\n%s\n' \
        'tls-disabled-cipher = AES-256-GCM' >"$1"
}

# fr_relay_start JOB DIR [ARG]...: fr-relay on host relay at
# 198.18.2.1:4433 (its address in fr_relay_hosts), its certificate and JSON
# summary in DIR, with more ARGs; returns once it listens.
fr_relay_start() {
    local job=$1 dir=$2
    shift 2
    fr_spawn relay "$job" "$FR_BIN_DIR/fr-relay" --listen 198.18.2.1:4433 \
        --write-cert "$dir/relay.pem" --json "$dir/relay.json" "$@"
    fr_wait_log "$job" 'listening on' 10
}

# The fast-path tests' crypto mode: FR_CRYPTO=tls (the default: the
# kernel opens and seals ChaCha20-Poly1305) or cleartext; FR_CRYPTO_FLAGS
# is what the tools take for it.
FR_CRYPTO=${FR_CRYPTO:-tls}
case $FR_CRYPTO in
tls) FR_CRYPTO_FLAGS=() ;;
cleartext) FR_CRYPTO_FLAGS=(--cleartext) ;;
*) echo "FR_CRYPTO must be tls or cleartext, not '$FR_CRYPTO'" >&2; exit 2 ;;
esac

# fr_fastpath_relay JOB DIR [ARG]...: the same with --fastpath, in
# FR_CRYPTO mode.
fr_fastpath_relay() {
    fr_relay_start "$1" "$2" "${FR_CRYPTO_FLAGS[@]}" --fastpath "${@:3}"
}

# fr_origin_start JOB DIR SECONDS BITRATE [ARG]...: fr-origin on the origin
# host publishing SECONDS of 30 fps synthetic video (a group a second) to
# that relay, trusting DIR/relay.pem; returns once the relay accepted its
# namespace.
fr_origin_start() {
    local job=$1 dir=$2 seconds=$3 bitrate=$4
    shift 4
    fr_spawn origin "$job" "$FR_BIN_DIR/fr-origin" \
        --connect 198.18.2.1:4433 --ca "$dir/relay.pem" --fps 30 --gop 30 \
        --bitrate "$bitrate" --duration "$seconds" "$@"
    fr_wait_log "$job" 'namespace live accepted' 10
}

# fr_live_origin JOB DIR SECONDS BITRATE [ARG]...: the same in FR_CRYPTO
# mode, for a fast-path relay.
fr_live_origin() {
    fr_origin_start "$@" "${FR_CRYPTO_FLAGS[@]}"
}

# fr_maps_of PID: IDs of the BPF maps process PID holds open (maps are
# global: other runs' are not ours to judge). An fd the process closes
# while its fdinfo is read is skipped, not a failure (with pipefail, a
# failed cat used to end the calling test without a word).
fr_maps_of() {
    { cat /proc/"$1"/fdinfo/* 2>/dev/null || true; } |
        awk '/^map_id:/ {print $2}' | sort -u
}

# fr_require_bins PROG...: FR_BIN_DIR must hold every PROG.
fr_require_bins() {
    local b
    for b in "$@"; do
        [[ -x ${FR_BIN_DIR:-}/$b ]] || fr_fail "FR_BIN_DIR must hold $b"
    done
}

# fr_forwarding HOST: makes HOST an IPv4 router.
fr_forwarding() {
    _fr_check_host "$1"
    ip netns exec "$(fr_ns "$1")" sysctl -q -w net.ipv4.ip_forward=1 >/dev/null
}

# fr_exec HOST COMMAND [ARG]...: runs a command on HOST, in the foreground.
fr_exec() {
    _fr_check_host "$1"
    ip netns exec "$(fr_ns "$1")" "${@:2}"
}

# fr_spawn HOST JOB COMMAND [ARG]...: starts a command on HOST in the
# background, output to "$(fr_job_log JOB)". It is stopped at cleanup.
# HOST "machine" is the machine's own namespace (see fr_link_machine).
fr_spawn() {
    local host=$1 job=$2
    [[ $job =~ ^[A-Za-z0-9._-]+$ ]] || fr_fail "bad job name '$job'"
    [[ -z ${FR_JOBS[$job]:-} ]] || fr_fail "job '$job' is already running"
    : >"$FR_TMPDIR/$job.log"
    if [[ $host == machine ]]; then
        "${@:3}" </dev/null >>"$FR_TMPDIR/$job.log" 2>&1 &
    else
        _fr_check_host "$host"
        ip netns exec "$(fr_ns "$host")" "${@:3}" \
            </dev/null >>"$FR_TMPDIR/$job.log" 2>&1 &
    fi
    FR_JOBS[$job]=$!
}

# fr_job_log JOB: prints the path of the job's output.
fr_job_log() { printf '%s\n' "$FR_TMPDIR/$1.log"; }

_fr_job_pid() {
    [[ -n ${FR_JOBS[$1]:-} ]] || fr_fail "no job '$1'"
    printf '%s\n' "${FR_JOBS[$1]}"
}

# fr_wait_log JOB REGEX [SECONDS=10]: waits until a line of the job's output
# matches the extended REGEX; fails if the job exits first or time runs out.
fr_wait_log() {
    local job=$1 regex=$2 limit=${3:-10} pid log i
    pid=$(_fr_job_pid "$job")
    log=$(fr_job_log "$job")
    for ((i = 0; i < limit * 20; i++)); do
        grep -Eq -- "$regex" "$log" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            grep -Eq -- "$regex" "$log" && return 0
            fr_fail "job '$job' exited without printing /$regex/"
        fi
        sleep 0.05
    done
    fr_fail "job '$job' did not print /$regex/ within ${limit}s"
}

# fr_wait JOB [SECONDS=30]: waits for the job to exit by itself and returns
# its exit status; fails when time runs out.
fr_wait() {
    local job=$1 limit=${2:-30} pid i rc=0
    pid=$(_fr_job_pid "$job")
    for ((i = 0; i < limit * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && fr_fail "job '$job' still runs after ${limit}s"
    unset "FR_JOBS[$job]"
    wait "$pid" || rc=$?
    return "$rc"
}

# fr_stop JOB [SECONDS=5]: sends SIGTERM, then SIGKILL if the job is still
# there after SECONDS; returns the job's exit status.
fr_stop() {
    local job=$1 limit=${2:-5} pid i rc=0
    pid=$(_fr_job_pid "$job")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < limit * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    unset "FR_JOBS[$job]"
    { wait "$pid"; } 2>/dev/null || rc=$?
    return "$rc"
}

# fr_impair HOST PEER ingress|egress [FR-IMPAIR OPTION]...: attaches
# fr-impair to HOST's interface towards PEER and waits until it is attached.
# Example: fr_impair tx rx egress --loss 5 --seed 42 --udp-only
fr_impair() {
    local host=$1 peer=$2 dir=$3 job="impair-$1-$2-$3"
    [[ $# -ge 3 ]] || fr_fail "usage: fr_impair HOST PEER DIRECTION [OPTION]..."
    [[ -n ${FR_IMPAIR_BIN:-} && -x ${FR_IMPAIR_BIN} ]] ||
        fr_fail "FR_IMPAIR_BIN must name the fr-impair binary"
    fr_spawn "$host" "$job" "$FR_IMPAIR_BIN" --dev "$peer" --direction "$dir" \
        "${@:4}"
    fr_wait_log "$job" '^attached ' 10
}

# fr_impair_stop HOST PEER DIRECTION: detaches that fr-impair; fails unless
# it detached cleanly.
fr_impair_stop() {
    fr_stop "impair-$1-$2-$3" ||
        fr_fail "fr-impair on $1 ($2, $3) did not detach cleanly"
}

# fr_impair_counter HOST PEER DIRECTION seen|dropped|skipped: prints a final
# counter of a stopped fr-impair.
fr_impair_counter() {
    local line
    line=$(grep '^final ' "$(fr_job_log "impair-$1-$2-$3")") ||
        fr_fail "fr-impair on $1 ($2, $3) printed no final counters"
    fr_field "$4" "$line"
}

# fr_field KEY LINE: prints the value of KEY in a line of key=value fields.
fr_field() {
    local field
    for field in $2; do
        [[ $field == "$1="* ]] && printf '%s\n' "${field#*=}" && return 0
    done
    fr_fail "no field '$1' in '$2'"
}

# fr_tbf HOST PEER RATE BURST LATENCY: makes HOST's interface towards PEER a
# token-bucket bottleneck, e.g. fr_tbf relay sub 20mbit 32kb 50ms.
fr_tbf() {
    local err
    [[ $# -eq 5 ]] || fr_fail "usage: fr_tbf HOST PEER RATE BURST LATENCY"
    _fr_check_host "$1"
    if ! err=$(tc -n "$(fr_ns "$1")" qdisc replace dev "$2" root tbf \
        rate "$3" burst "$4" latency "$5" 2>&1); then
        [[ $err == *"kind is unknown"* ]] && fr_skip "the kernel has no tbf qdisc"
        fr_fail "cannot add tbf on $1 ($2): $err"
    fi
}
