#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tlb-impact.sh: what the direct map's state costs in TLB misses, pool on
# against pool off (upstream secretmem), on a machine running the pool
# kernel.
#
# For each mode it creates N long-lived one-page secrets with kernel memory
# pinned between them (sp-bench longlived; with the pool off that splits
# the direct map the way upstream does), and while they are held runs a
# workload under `perf stat` with the dTLB events this CPU counts:
#
#   generic  dTLB-load-misses dTLB-store-misses dTLB-loads iTLB-load-misses
#   Intel    dtlb_load_misses.walk_completed dtlb_store_misses.walk_completed
#            dtlb_load_misses.walk_active
#   AMD      ls_l1_d_tlb_miss.all ls_tablewalker.dside
#
# The default workload is fio with benchmarks/fio/directmap-traffic.fio
# (buffered I/O on a tmpfs: copies through the direct map).  The pool runs
# first: what upstream splits stays split until the next boot.
#
# Where the PMU counts none of these events (virtual machines without a
# virtual PMU, QEMU TCG) it says so and reports what can be seen without
# counters instead: the direct-map splits and DirectMap4k change each mode
# caused (from sp-bench) and the workload's throughput.
#
# Usage: tlb-impact.sh [-n SECRETS] [-r SECONDS] [-s SIZE] [-d TMPFS_DIR]
#                      [-b SP_BENCH] [-f FIO_JOB] [-- WORKLOAD...]
# Needs root (the pool's knob, /proc/self/pagemap), perf and fio.

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

N=1000
RUNTIME=5
SIZE=256m
DIR=/tmp/sp-tlb
SP_BENCH=
FIO_JOB=
KNOB=/sys/module/secretpool/parameters/enabled

usage() { sed -n '/^# Usage/,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while getopts "n:r:s:d:b:f:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) RUNTIME=$OPTARG ;;
	s) SIZE=$OPTARG ;;
	d) DIR=$OPTARG ;;
	b) SP_BENCH=$OPTARG ;;
	f) FIO_JOB=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

say() { echo "tlb-impact: $*"; }
die() { say "$*" >&2; exit 1; }

# The first of several candidate paths that exists.
find_first() {
	local p

	for p in "$@"; do
		if [ -e "$p" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

[ "$(id -u)" = 0 ] || die "needs root (the pool's knob and /proc/self/pagemap)"
command -v perf >/dev/null || die "perf not found (Debian: apt-get install linux-perf)"
[ -n "$SP_BENCH" ] || SP_BENCH=$(command -v sp-bench ||
	find_first "$HERE/../../benchmarks/src/sp-bench" /tmp/.secretpool/bin/sp-bench) ||
	die "sp-bench not found: make -C benchmarks/src OUT=. LDFLAGS= (or pass -b)"

if [ $# -eq 0 ]; then
	[ -n "$FIO_JOB" ] || FIO_JOB=$(find_first \
		"$HERE/../../benchmarks/fio/directmap-traffic.fio" \
		"$HERE/../fio/directmap-traffic.fio") ||
		die "no fio job file found (pass -f FILE)"
	command -v fio >/dev/null || die "fio not found (Debian: apt-get install fio)"
	mkdir -p "$DIR" || die "cannot create $DIR"
	set -- env FIO_DIR="$DIR" FIO_SIZE="$SIZE" FIO_RUNTIME="$RUNTIME" \
		fio --minimal "$FIO_JOB"
fi

# --- which events does this PMU count? ---
CANDIDATES="dTLB-load-misses dTLB-store-misses dTLB-loads iTLB-load-misses
dtlb_load_misses.walk_completed dtlb_store_misses.walk_completed
dtlb_load_misses.walk_active ls_l1_d_tlb_miss.all ls_tablewalker.dside"
EVENTS=
UNSUPPORTED=
for ev in $CANDIDATES; do
	# perf stat -x, prints "value,unit,event,..."; a value of
	# "<not supported>" or "<not counted>", or an error, means no.
	val=$(perf stat -x, -e "$ev" -- true 2>&1 | awk -F, -v e="$ev" '$3 == e { print $1 }')
	case "$val" in
	''|'<not supported>'|'<not counted>') UNSUPPORTED="$UNSUPPORTED $ev" ;;
	*) EVENTS="$EVENTS${EVENTS:+,}$ev" ;;
	esac
done

if [ -w "$KNOB" ]; then
	MODES="pool upstream"
	saved=$(cat "$KNOB")	# put back on exit (trap below)
else
	MODES="current"
	say "no secretmem pool in this kernel ($KNOB): measuring the kernel as it is"
fi

say "workload: $*"
say "$N long-lived secrets held during each run"
if [ -z "$EVENTS" ]; then
	say "this CPU's PMU counts none of the dTLB events (perf stat: <not supported>:$UNSUPPORTED)."
	say "No TLB figures here; virtual machines without a virtual PMU (QEMU TCG included) cannot count them."
	say "Falling back to the direct map's structure and the workload's throughput."
else
	say "counting: $EVENTS"
	[ -n "$UNSUPPORTED" ] && say "not counted here:$UNSUPPORTED"
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; if [ -n "${saved:-}" ]; then echo "$saved" > "$KNOB"; fi' EXIT

for mode in $MODES; do
	case $mode in
	pool) echo 1 > "$KNOB" ;;
	upstream) echo 0 > "$KNOB" ;;
	esac
	if [ -n "$EVENTS" ]; then
		hook="perf stat -x, -o $OUT/$mode.perf -e $EVENTS -- $* > $OUT/$mode.work 2>&1"
	else
		hook="$* > $OUT/$mode.work 2>&1"
	fi
	if ! "$SP_BENCH" longlived -n "$N" -H "$hook" > "$OUT/$mode.bench" 2>&1; then
		say "sp-bench longlived failed in mode $mode:"
		cat "$OUT/$mode.bench"
	fi
	[ -s "$OUT/$mode.work" ] || say "the workload printed nothing in mode $mode"
done

# --- report ---
field() {	# field FILE KEY: KEY=value from a RESULT line
	grep -o "\b$2=[^ ]*" "$1" 2>/dev/null | head -1 | cut -d= -f2
}

printf '\n%-40s' "direct map while the secrets were held"
for mode in $MODES; do printf '%16s' "$mode"; done
echo
for key in l2_splits l3_splits dm4k_kb blocks_2m; do
	case $key in
	l2_splits) label="2M mappings split (level2 splits)" ;;
	l3_splits) label="1G mappings split (level3 splits)" ;;
	dm4k_kb) label="DirectMap4k change, kB" ;;
	blocks_2m) label="2M blocks holding the secrets" ;;
	esac
	printf '%-40s' "$label"
	for mode in $MODES; do printf '%16s' "$(field "$OUT/$mode.bench" $key)"; done
	echo
done

# fio --minimal: field 3 job name, 7 read KiB/s, 48 write KiB/s.
if grep -q ';' "$OUT/${MODES%% *}.work" 2>/dev/null; then
	printf '\n%-40s' "fio throughput, MiB/s"
	for mode in $MODES; do printf '%16s' "$mode"; done
	echo
	for job in $(awk -F';' 'NF > 100 { print $3 }' "$OUT/${MODES%% *}.work"); do
		printf '%-40s' "$job"
		for mode in $MODES; do
			printf '%16s' "$(awk -F';' -v j="$job" \
				'$3 == j { printf "%.0f", ($7 + $48) / 1024 }' "$OUT/$mode.work")"
		done
		echo
	done
fi

if [ -n "$EVENTS" ]; then
	printf '\n%-40s' "perf stat (counts during the workload)"
	for mode in $MODES; do printf '%16s' "$mode"; done
	echo
	for ev in ${EVENTS//,/ }; do
		printf '%-40s' "$ev"
		for mode in $MODES; do
			printf '%16s' "$(awk -F, -v e="$ev" '$3 == e { print $1 }' "$OUT/$mode.perf" 2>/dev/null)"
		done
		echo
	done
	say "a higher count with the pool off is the TLB cost of the split direct map"
fi
exit 0
