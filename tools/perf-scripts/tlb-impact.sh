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
# workload REPS times under `perf stat -r REPS`, counting in the kernel
# only (the `:k` modifier; -u adds the same events for user space) the
# dTLB events this CPU has:
#
#   generic  dTLB-load-misses dTLB-store-misses dTLB-loads iTLB-load-misses
#   Intel    dtlb_load_misses.walk_completed{,_4k,_2m_4m,_1g}
#            dtlb_store_misses.walk_completed{,_4k,_2m_4m}
#            dtlb_load_misses.stlb_hit dtlb_load_misses.walk_active
#   AMD      ls_l1_d_tlb_miss.all ls_l1_d_tlb_miss.all_l2_miss
#            ls_l1_d_tlb_miss.tlb_reload_{4k,2m,1g}_l2_{hit,miss}
#            ls_tablewalker.dside
#
# The page-size-specific walks show where the misses land: on a split
# direct map the kernel's walks end in 4K pages instead of 2M and 1G ones.
# On a hybrid Intel CPU (a cpu_core PMU in sysfs) every event is probed
# and counted as cpu_core/EVENT/k and cpu_atom/EVENT/k, one figure per PMU.
# Each event's figure comes with perf's variance over the runs and the
# share of the time it was actually counted: with more events than the
# PMU has counters perf multiplexes them and scales the counts (a warning
# says so; -e picks fewer events).
#
# The default workload is fio with benchmarks/fio/directmap-traffic.fio
# (buffered I/O on a tmpfs: copies through the direct map).  The pool runs
# first: what upstream splits stays split until the next boot.
#
# Before measuring it checks that memfd_secret() works (6.1 needs the boot
# parameter secretmem.enable=1; one secret through sp-bench proves it) and
# whether the pool is in the kernel: with it, modes "pool" then "upstream"
# (the pool switched off); without it (a stock kernel), one mode "current".
#
# Where the PMU counts none of these events (virtual machines without a
# virtual PMU, QEMU TCG) it says so and reports what can be seen without
# counters instead: the direct-map splits and DirectMap4k change each mode
# caused (from sp-bench) and the workload's throughput.
#
# Besides the tables it prints machine-readable lines (plain numbers, nan
# when absent), read by benchmarks/tlb_hw.py:
#   RESULT scenario=tlb_hw mode=M event=E pmu=P count=N variance_pct=X running_pct=Y reps=R
#   RESULT scenario=tlb_hw_dm mode=M l2_splits=N l3_splits=N dm4k_kb=N blocks_2m=N
#   RESULT scenario=tlb_hw_status counted=0|1 events=E,... unsupported=E,... modes=M,... pmus=P,...
#
# Usage: tlb-impact.sh [-n SECRETS] [-r REPS] [-t SECONDS] [-s SIZE] [-d TMPFS_DIR]
#                      [-b SP_BENCH] [-f FIO_JOB] [-e EVENT,...] [-u] [-- WORKLOAD...]
#   -n  long-lived secrets held during each mode's runs (default 1000)
#   -r  repetitions of the workload, perf stat -r (default 3; -R is the same)
#   -t  seconds per fio job of the default workload (default 5)
#   -s  fio file size (default 256m); -d its tmpfs directory (default /tmp/sp-tlb)
#   -b  the sp-bench binary; -f the fio job file
#   -e  the events to try instead of the list above (names without modifiers)
#   -u  also count the events in user space (EVENT:u, next to EVENT:k)
# Exit status: 0 counts were taken; 3 no event could be counted (the
# direct-map figures and throughput are still printed); 2 usage; 1 any
# other failure (not root, no perf or sp-bench, memfd_secret() off, a run
# that failed).
# Environment, for the test (tools/perf-scripts/test-tlb-impact.py) only:
# TLB_IMPACT_SYSFS (instead of /sys), TLB_IMPACT_PROC (instead of /proc),
# TLB_IMPACT_KNOB (the pool's knob), TLB_IMPACT_TEST=1 (no root check).
# Needs root (the pool's knob, /proc/self/pagemap), perf and fio.

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

N=1000
REPS=3
RUNTIME=5
SIZE=256m
DIR=/tmp/sp-tlb
SP_BENCH=
FIO_JOB=
EVLIST=
USER_TOO=0
SYSFS=${TLB_IMPACT_SYSFS:-/sys}
PROCFS=${TLB_IMPACT_PROC:-/proc}
KNOB=${TLB_IMPACT_KNOB:-$SYSFS/module/secretpool/parameters/enabled}
SHRINK=$SYSFS/kernel/debug/secretpool/shrink
SECRETMEM_ON=$SYSFS/module/secretmem/parameters/enable
PMUS_DIR=$SYSFS/bus/event_source/devices

usage() { sed -n '/^# Usage/,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# whole VALUE: is VALUE a whole number above 0?
whole() {
	case $1 in
	''|*[!0-9]*|0) return 1 ;;
	esac
}

while getopts "n:r:R:t:s:d:b:f:e:uh" opt; do
	case $opt in
	n) whole "$OPTARG" || usage; N=$OPTARG ;;
	r|R) whole "$OPTARG" || usage; REPS=$OPTARG ;;
	t) whole "$OPTARG" || usage; RUNTIME=$OPTARG ;;
	s) SIZE=$OPTARG ;;
	d) DIR=$OPTARG ;;
	b) SP_BENCH=$OPTARG ;;
	f) FIO_JOB=$OPTARG ;;
	e) EVLIST=$OPTARG ;;
	u) USER_TOO=1 ;;
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

# TLB_IMPACT_TEST=1 is for test-tlb-impact.py, which runs this script with
# a fake perf, sp-bench and sysfs as an ordinary user.
if [ "${TLB_IMPACT_TEST:-0}" != 1 ]; then
	[ "$(id -u)" = 0 ] || die "needs root (the pool's knob and /proc/self/pagemap)"
fi
command -v perf >/dev/null || die "perf not found (Debian: apt-get install linux-perf)"
[ -n "$SP_BENCH" ] || SP_BENCH=$(command -v sp-bench ||
	find_first "$HERE/../../benchmarks/src/sp-bench" /tmp/.secretpool/bin/sp-bench) ||
	die "sp-bench not found: make -C benchmarks/src OUT=. LDFLAGS= (or pass -b)"
[ -x "$SP_BENCH" ] || die "$SP_BENCH is not an executable"
# memfd_secret() charges RLIMIT_MEMLOCK, for root too.
ulimit -l unlimited 2>/dev/null

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

OUT=$(mktemp -d) || die "mktemp failed"
saved=
trap 'rm -rf "$OUT"; if [ -n "$saved" ]; then echo "$saved" > "$KNOB"; fi' EXIT

# perf_read FILE SPEC...: what `perf stat -x,` wrote into FILE for each
# event SPEC, one line each: "COUNT VARIANCE_PCT RUNNING_PCT STATE" (nan
# where absent; STATE ok, unsupported, notcounted or missing).  A counter
# line is "value,unit,event[,variance%],run-time,percentage-running,...";
# the variance field is there only with -r 2 or more.  perf prints the
# events in the order given but not always under the name given (it can
# drop the modifier or the PMU), so a line matches a SPEC by its name with
# modifier and PMU removed, the first line not taken yet.
perf_read() {
	local file=$1

	shift
	awk -F, -v specs="$*" '
	function norm(s) {
		s = tolower(s)
		if (match(s, /^[a-z0-9_]+\//)) {
			s = substr(s, RLENGTH + 1)
			sub(/\/[a-z]*$/, "", s)
		}
		sub(/:[a-z]+$/, "", s)
		return s
	}
	function num(s) { return s ~ /^[0-9]+(\.[0-9]+)?$/ }
	/^#/ || NF < 3 { next }
	{
		n++
		name[n] = $3
		val[n] = $1
		if ($4 ~ /%$/) {
			var[n] = $4
			sub(/%$/, "", var[n])
			run[n] = $6
		} else {
			var[n] = "nan"
			run[n] = $5
		}
	}
	END {
		ns = split(specs, sp, " ")
		for (i = 1; i <= ns; i++) {
			j = 0
			for (k = 1; k <= n && !j; k++)
				if (!used[k] && name[k] == sp[i])
					j = k
			for (k = 1; k <= n && !j; k++)
				if (!used[k] && norm(name[k]) == norm(sp[i]))
					j = k
			if (!j) {
				print "nan nan nan missing"
				continue
			}
			used[j] = 1
			if (num(val[j]))
				printf "%s %s %s ok\n", val[j], num(var[j]) ? var[j] : "nan",
					num(run[j]) ? run[j] : "nan"
			else if (val[j] ~ /not supported/)
				print "nan nan nan unsupported"
			else
				print "nan nan nan notcounted"
		}
	}' "$file"
}

# --- memfd_secret() and the pool ---
cmdline=$(cat "$PROCFS/cmdline" 2>/dev/null)
on_cmdline=no
for a in $cmdline; do
	case $a in
	secretmem.enable=1|secretmem.enable=[yY]*|secretmem.enable=on) on_cmdline=yes ;;
	secretmem.enable=*) on_cmdline=no ;;
	esac
done
param=$(cat "$SECRETMEM_ON" 2>/dev/null)
case $param in
N|n|0)
	die "memfd_secret() is off in this kernel ($SECRETMEM_ON: $param; secretmem.enable=1 on the command line: $on_cmdline); boot with secretmem.enable=1, which 6.1 needs" ;;
esac

if [ -e "$KNOB" ] && [ -w "$KNOB" ]; then
	MODES="pool upstream"
	saved=$(cat "$KNOB")	# put back on exit (trap above)
	say "secretpool is in this kernel: two modes, 'pool' (pool on), then 'upstream' (pool off, upstream secretmem)"
elif [ -e "$KNOB" ]; then
	MODES="current"
	say "secretpool is in this kernel but $KNOB cannot be written: one mode 'current' (enabled=$(cat "$KNOB" 2>/dev/null))"
else
	MODES="current"
	say "stock kernel (no secretpool, no $KNOB): one mode 'current', secretmem as this kernel does it"
fi

# pool_shrink: give the pool's empty regions back (debugfs), where it can.
pool_shrink() {
	if [ -w "$SHRINK" ]; then
		echo 1 > "$SHRINK" 2>/dev/null
		sleep 0.2
	fi
}

# set_mode MODE: the pool on or off for MODE.
set_mode() {
	case $1 in
	pool) echo 1 > "$KNOB" ;;
	upstream) echo 0 > "$KNOB" ;;
	esac
}

# field FILE KEY: KEY=value from the longlived RESULT line, else nan.
field() {
	local v

	v=$(grep '^RESULT .*scenario=longlived ' "$1" 2>/dev/null | grep -o "\b$2=[^ ]*" |
		head -1 | cut -d= -f2)
	case $v in
	''|*[!0-9.-]*) echo nan ;;
	*) echo "$v" ;;
	esac
}

# One secret, in the first mode: with the pool, through the pool, which
# takes a whole 2M block instead of splitting a 2M mapping as upstream
# would; what the check split is said.
set_mode "${MODES%% *}"
if ! "$SP_BENCH" longlived -n 1 -P 0 > "$OUT/check" 2>&1 ||
	[ "$(field "$OUT/check" made)" != 1 ]; then
	sed 's/^/  /' "$OUT/check" >&2
	die "memfd_secret() does not work here: '$SP_BENCH longlived -n 1' failed (${SECRETMEM_ON}: ${param:-absent}; secretmem.enable=1 on the command line: $on_cmdline)"
fi
pool_shrink
say "memfd_secret() works (${SECRETMEM_ON##*/module/}: ${param:-absent}; secretmem.enable=1 on the command line: $on_cmdline; the check's one secret split $(field "$OUT/check" l2_splits) 2M and $(field "$OUT/check" l3_splits) 1G mappings)"
splits=$(awk '$1 == "direct_map_level2_splits" { print $2 }' "$PROCFS/vmstat" 2>/dev/null)
[ -n "$splits" ] && say "direct map: $splits level-2 splits since boot (upstream's are permanent: run right after boot)"

# --- which PMUs, which events does this CPU count? ---
if [ -d "$PMUS_DIR/cpu_core" ]; then
	PMUS=cpu_core
	[ -d "$PMUS_DIR/cpu_atom" ] && PMUS="cpu_core cpu_atom"
	say "hybrid CPU: counting on the PMUs $PMUS ($PMUS_DIR)"
else
	PMUS=cpu
	[ -d "$PMUS_DIR/cpu" ] || say "no core PMU in $PMUS_DIR (a virtual machine without a virtual PMU?)"
fi

if [ -n "$EVLIST" ]; then
	CANDIDATES=
	for ev in ${EVLIST//,/ }; do
		CANDIDATES="$CANDIDATES ${ev%%:*}"	# the modifier is added below
	done
else
	CANDIDATES="dTLB-load-misses dTLB-store-misses dTLB-loads iTLB-load-misses
dtlb_load_misses.walk_completed dtlb_load_misses.walk_completed_4k
dtlb_load_misses.walk_completed_2m_4m dtlb_load_misses.walk_completed_1g
dtlb_store_misses.walk_completed dtlb_store_misses.walk_completed_4k
dtlb_store_misses.walk_completed_2m_4m dtlb_load_misses.stlb_hit
dtlb_load_misses.walk_active
ls_l1_d_tlb_miss.all ls_l1_d_tlb_miss.all_l2_miss
ls_l1_d_tlb_miss.tlb_reload_4k_l2_miss ls_l1_d_tlb_miss.tlb_reload_2m_l2_miss
ls_l1_d_tlb_miss.tlb_reload_1g_l2_miss ls_l1_d_tlb_miss.tlb_reload_4k_l2_hit
ls_l1_d_tlb_miss.tlb_reload_2m_l2_hit ls_l1_d_tlb_miss.tlb_reload_1g_l2_hit
ls_tablewalker.dside"
fi
PRIVS=k
[ "$USER_TOO" = 1 ] && PRIVS="k u"

# Every event that counts, three parallel lists: what perf is given
# (SPEC), the name in the RESULT lines (event:k) and its PMU.
SPECS=()
NAMES=()
EVPMU=()
UNSUPPORTED=	# perf knows it, this PMU does not count it
UNKNOWN=	# perf does not know it (another vendor's, another model's)
for ev in $CANDIDATES; do
	for pmu in $PMUS; do
		for priv in $PRIVS; do
			if [ "$pmu" = cpu ]; then
				spec=$ev:$priv
			else
				spec=$pmu/$ev/$priv
			fi
			perf stat -x, -e "$spec" -- true > "$OUT/probe" 2>&1
			rc=$?
			# No process substitution here or below: a chroot (the
			# project's guests run the host's bash in one) may lack /dev/fd.
			perf_read "$OUT/probe" "$spec" > "$OUT/probe.res"
			read -r _ _ _ state < "$OUT/probe.res"
			if [ "$state" = ok ]; then
				SPECS+=("$spec")
				NAMES+=("$ev:$priv")
				EVPMU+=("$pmu")
			elif [ "$state" = missing ] && [ $rc -ne 0 ]; then
				UNKNOWN="$UNKNOWN $spec"
			else
				UNSUPPORTED="$UNSUPPORTED $spec"
			fi
		done
	done
done
NEV=${#SPECS[@]}
EVENTS=$(IFS=,; echo "${SPECS[*]}")

say "workload: $*"
if [ "$NEV" -eq 0 ]; then
	say "$N long-lived secrets held during each mode's run of the workload (once: nothing to count)"
	say "this CPU's PMU counts none of the dTLB events (perf stat: <not supported>:${UNSUPPORTED:- none}; unknown to perf:${UNKNOWN:- none})."
	say "No TLB figures here; virtual machines without a virtual PMU (QEMU TCG included) cannot count them."
	say "Falling back to the direct map's structure and the workload's throughput."
else
	say "$N long-lived secrets held during each mode's $REPS runs of the workload (perf stat -r $REPS)"
	say "counting on $([ "$PMUS" = cpu ] && echo "PMU cpu" || echo "PMUs $PMUS"), $([ "$USER_TOO" = 1 ] && echo 'kernel (:k) and user (:u) apart' || echo 'kernel only (:k)'): ${SPECS[*]}"
	[ -n "$UNSUPPORTED" ] && say "not counted by this PMU (<not supported>):$UNSUPPORTED"
	[ -n "$UNKNOWN" ] && say "unknown to this perf (other vendors' or models' events):$UNKNOWN"
fi

# --- the runs ---
WORK=$(printf '%q ' "$@")
O=$(printf '%q' "$OUT")
failed=0
for mode in $MODES; do
	set_mode "$mode"
	[ "$mode" = pool ] && pool_shrink
	if [ "$NEV" -gt 0 ]; then
		hook="perf stat -x, -o $O/$mode.perf -r $REPS -e $EVENTS -- $WORK"
	else
		hook="$WORK"
	fi
	hook="$hook > $O/$mode.work 2>&1; echo \$? > $O/$mode.rc"
	if ! "$SP_BENCH" longlived -n "$N" -H "$hook" > "$OUT/$mode.bench" 2>&1; then
		say "sp-bench longlived failed in mode $mode (secrets made: $(field "$OUT/$mode.bench" made) of $N):"
		sed 's/^/  /' "$OUT/$mode.bench"
		failed=1
	fi
	rc=$(cat "$OUT/$mode.rc" 2>/dev/null)
	if [ "${rc:-x}" != 0 ]; then
		say "the workload failed in mode $mode (exit status ${rc:-unknown}):"
		tail -5 "$OUT/$mode.work" 2>/dev/null | sed 's/^/  /'
		failed=1
	fi
	[ -s "$OUT/$mode.work" ] || say "the workload printed nothing in mode $mode"
	if [ "$NEV" -gt 0 ]; then
		perf_read "$OUT/$mode.perf" "${SPECS[@]}" > "$OUT/$mode.counts"
	fi
done

# --- report ---
W=46	# the first column: the widest label and two spaces
for ((i = 0; i < NEV; i++)); do
	l=${#NAMES[$i]}
	[ "${EVPMU[$i]}" = cpu ] || l=$((l + ${#EVPMU[$i]} + 3))
	[ $((l + 2)) -gt $W ] && W=$((l + 2))
done
header() {
	printf '\n%-*s' $W "$1"
	for mode in $MODES; do printf '%16s' "$mode"; done
	[ "$MODES" = "pool upstream" ] && [ -n "${2:-}" ] && printf '%16s' "$2"
	echo
}

header "direct map while the secrets were held"
for key in made l2_splits l3_splits dm4k_kb blocks_2m; do
	case $key in
	made) label="secrets held" ;;
	l2_splits) label="2M mappings split (level2 splits)" ;;
	l3_splits) label="1G mappings split (level3 splits)" ;;
	dm4k_kb) label="DirectMap4k change, kB" ;;
	blocks_2m) label="2M blocks holding the secrets" ;;
	esac
	printf '%-*s' $W "$label"
	for mode in $MODES; do printf '%16s' "$(field "$OUT/$mode.bench" $key)"; done
	echo
done

# fio --minimal: field 3 job name, 7 read KiB/s, 48 write KiB/s; one line
# per job and run, averaged over the runs.
first=${MODES%% *}
if grep -q ';' "$OUT/$first.work" 2>/dev/null; then
	header "fio throughput, MiB/s (mean of the runs)"
	awk -F';' 'NF > 100 && !seen[$3]++ { print $3 }' "$OUT/$first.work" |
	while read -r job; do
		printf '%-*s' $W "$job"
		for mode in $MODES; do
			printf '%16s' "$(awk -F';' -v j="$job" '
				NF > 100 && $3 == j { s += ($7 + $48) / 1024; n++ }
				END { if (n) printf "%.0f", s / n }' "$OUT/$mode.work")"
		done
		echo
	done
fi

# FIG[MODE,I,C]: event I's (from 0) count (C 1), variance (2), running
# percentage (3) and state (4) in MODE.
declare -A FIG
for mode in $MODES; do
	i=0
	while read -r c v r s; do
		FIG[$mode,$i,1]=$c
		FIG[$mode,$i,2]=$v
		FIG[$mode,$i,3]=$r
		FIG[$mode,$i,4]=$s
		i=$((i + 1))
	done < "$( [ -f "$OUT/$mode.counts" ] && echo "$OUT/$mode.counts" || echo /dev/null)"
	for ((; i < NEV; i++)); do
		FIG[$mode,$i,1]=nan FIG[$mode,$i,2]=nan FIG[$mode,$i,3]=nan FIG[$mode,$i,4]=missing
	done
done

# evlabel I: event I as the tables show it.
evlabel() {
	if [ "${EVPMU[$1]}" = cpu ]; then
		echo "${NAMES[$1]}"
	else
		echo "${NAMES[$1]} (${EVPMU[$1]})"
	fi
}

counted=0
if [ "$NEV" -gt 0 ]; then
	# Counted: some event has a count in every mode.
	for ((i = 0; i < NEV; i++)); do
		all=1
		for mode in $MODES; do
			[ "${FIG[$mode,$i,4]}" = ok ] || all=0
		done
		[ $all = 1 ] && counted=1
	done

	header "perf stat, kernel dTLB events (mean of $REPS)" upstream/pool
	for ((i = 0; i < NEV; i++)); do
		printf '%-*s' $W "$(evlabel $i)"
		for mode in $MODES; do
			printf '%16s' "${FIG[$mode,$i,1]}"
		done
		if [ "$MODES" = "pool upstream" ]; then
			printf '%16s' "$(awk -v p="${FIG[pool,$i,1]}" -v u="${FIG[upstream,$i,1]}" 'BEGIN {
				if (p ~ /^[0-9.]+$/ && u ~ /^[0-9.]+$/ && p > 0)
					printf "%.3f", u / p
				else
					print "-" }')"
		fi
		echo
	done

	printf '\n%-*s' $W "perf stat: variance +-% / counted %"
	for mode in $MODES; do printf '%16s' "$mode"; done
	echo
	: > "$OUT/warnings"
	for ((i = 0; i < NEV; i++)); do
		printf '%-*s' $W "$(evlabel $i)"
		for mode in $MODES; do
			r=${FIG[$mode,$i,3]}
			printf '%16s' "${FIG[$mode,$i,2]} / $r"
			if [[ $r =~ ^[0-9]+(\.[0-9]+)?$ ]] && [ "${r%%.*}" -lt 100 ]; then
				echo "$r $i $mode" >> "$OUT/warnings"
			fi
		done
		echo
	done
	# One warning: which events perf multiplexed, the least counted share.
	if [ -s "$OUT/warnings" ]; then
		low=$(cut -d' ' -f2 "$OUT/warnings" | sort -nu)
		names=
		for i in $low; do names="$names, $(evlabel "$i")"; done
		[ "$(echo "$low" | wc -l)" -gt 4 ] && names=
		say "warning: $(echo "$low" | wc -l) of $NEV events were counted less than 100% of the time${names:+ (${names#, })}, the lowest $(sort -g "$OUT/warnings" | head -1 | cut -d' ' -f1)%: perf multiplexed them and scaled the counts; pass fewer events with -e for exact ones"
	fi
	if [ $counted = 1 ]; then
		say "a higher count with the pool off is the TLB cost of the split direct map, if both modes did the same work:"
		say "the default fio jobs run for a fixed time, so compare counts per unit of work (fio throughput above)"
	else
		say "the probed events counted nothing during the workload: no TLB figures"
	fi
fi

# --- machine-readable lines ---
echo
for ((i = 0; i < NEV; i++)); do
	for mode in $MODES; do
		echo "RESULT scenario=tlb_hw mode=$mode event=${NAMES[$i]} pmu=${EVPMU[$i]} count=${FIG[$mode,$i,1]} variance_pct=${FIG[$mode,$i,2]} running_pct=${FIG[$mode,$i,3]} reps=$REPS"
	done
done
for mode in $MODES; do
	echo "RESULT scenario=tlb_hw_dm mode=$mode l2_splits=$(field "$OUT/$mode.bench" l2_splits) l3_splits=$(field "$OUT/$mode.bench" l3_splits) dm4k_kb=$(field "$OUT/$mode.bench" dm4k_kb) blocks_2m=$(field "$OUT/$mode.bench" blocks_2m)"
done
unsup="$UNSUPPORTED$UNKNOWN"	# each word after a space
unsup=${unsup# }
unsup=${unsup// /,}
echo "RESULT scenario=tlb_hw_status counted=$counted events=${EVENTS:-none} unsupported=${unsup:-none} modes=${MODES// /,} pmus=${PMUS// /,}"

[ $failed = 1 ] && exit 1
[ $counted = 1 ] || exit 3
exit 0
