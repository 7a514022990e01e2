#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh [options] -- boot a kernel in QEMU (TCG) and run guest jobs.
#
#   -k FILE     kernel image            (default: build/bzImage)
#   -i FILE     initramfs               (default: build/initramfs.cpio.gz)
#   -j JOBS     guest jobs, comma separated (default: tests); see scripts/guest/jobs/
#   -m SIZE     guest memory in MiB     (default: 4096)
#   -c N        vCPUs                   (default: 2)
#   -n N        NUMA nodes              (default: 2; memory split evenly)
#   -e          one more node, with no CPU and no memory at boot: QEMU
#               announces 1 GiB of hot-pluggable memory on it (ACPI SRAT),
#               so the kernel knows it as possible but not online, as on
#               servers with empty sockets or memory slots
#   -a ARGS     extra kernel command line
#   -t SECS     time limit              (default: 900)
#   -o DIR      where the logs go       (default: build/logs/last)
#   -v          also show the guest's job output live
#
# Writes DIR/console.log (ttyS0, the kernel log) and DIR/tap.log (ttyS1, the
# jobs' output) and DIR/cmdline.  Exit status: QEMU's, or 124 on timeout.
#
# The guest runs under TCG with "-cpu max", so the kernel maps the direct
# map with 1G pages as on real hardware.  The machine is q35 (SP_MACHINE
# overrides it): on "pc", routing the virtio device's legacy interrupt
# through ACPI takes about 16 s with the debug kernel.  The host's root file system is
# shared read-only over virtio-9p (mount tag "hostroot") for host tools.

set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

KERNEL=$ROOT/build/bzImage
INITRD=$ROOT/build/initramfs.cpio.gz
JOBS=tests
MEM=${SP_VM_MEM:-4096}
CPUS=${SP_VM_CPUS:-2}
NODES=${SP_VM_NODES:-2}
EXTRA=
EMPTY_NODE=0
TIMEOUT=900
OUT=$ROOT/build/logs/last
VERBOSE=0

while getopts "k:i:j:m:c:n:a:t:o:evh" opt; do
	case $opt in
	k) KERNEL=$OPTARG ;;
	i) INITRD=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	m) MEM=$OPTARG ;;
	c) CPUS=$OPTARG ;;
	n) NODES=$OPTARG ;;
	a) EXTRA=$OPTARG ;;
	e) EMPTY_NODE=1 ;;
	t) TIMEOUT=$OPTARG ;;
	o) OUT=$OPTARG ;;
	v) VERBOSE=1 ;;
	h) sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done

[ -f "$KERNEL" ] || die "no kernel at $KERNEL (make kernel)"
[ -f "$INITRD" ] || die "no initramfs at $INITRD (make initramfs)"
[ "$NODES" -ge 1 ] || die "-n must be at least 1"

mkdir -p "$OUT"
rm -f "$OUT/console.log" "$OUT/tap.log"
: > "$OUT/tap.log"

# One socket per node where the vCPUs divide evenly, so no two nodes share
# a last-level cache (the kernel warns about that topology); otherwise one
# socket per vCPU, spread round-robin over the nodes.
if [ "$CPUS" -ge "$NODES" ] && [ $((CPUS % NODES)) -eq 0 ]; then
	sockets=$NODES
else
	sockets=$CPUS
fi
cores=$((CPUS / sockets))
numa=()
per=$((MEM / NODES))
for ((i = 0; i < NODES; i++)); do
	size=$per
	[ $i -eq $((NODES - 1)) ] && size=$((MEM - per * (NODES - 1)))
	numa+=(-object "memory-backend-ram,id=mem$i,size=${size}M")
	cpus=
	for ((c = 0; c < CPUS; c++)); do
		[ $(((c / cores) % NODES)) -eq $i ] && cpus="$cpus,cpus=$c"
	done
	numa+=(-numa "node,nodeid=$i,memdev=mem$i$cpus")
done
memory=${MEM}M
if [ $EMPTY_NODE = 1 ]; then
	# QEMU gives the hot-pluggable range to the last node.
	memory="${MEM}M,slots=1,maxmem=$((MEM + 1024))M"
	numa+=(-numa "node,nodeid=$NODES")
fi

# secretmem.enable=1: 6.1 ships memfd_secret() disabled.
# panic=-1 + -no-reboot: a panic ends QEMU at once instead of hanging.
CMDLINE="console=ttyS0 secretmem.enable=1 panic=-1 sp.jobs=$JOBS $EXTRA"
echo "$CMDLINE" > "$OUT/cmdline"

# multidevs=remap: the host's / spans several file systems (/proc, /sys,
# ...) whose inode numbers collide; without remapping, the guest's 9p
# client takes /host/proc and /host/sys for the same directory and the
# bind mounts of the guest's /proc and /sys land on top of each other.
qemu=(qemu-system-x86_64 -nodefaults -no-reboot -display none -monitor none
	-machine "${SP_MACHINE:-q35}" -accel tcg,thread=multi -cpu max
	-m "$memory" -smp "$CPUS,sockets=$sockets,cores=$cores,threads=1" "${numa[@]}"
	-kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE"
	-serial "file:$OUT/console.log" -serial "file:$OUT/tap.log"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	${SP_QEMU_EXTRA:-})

log "booting $(basename "$(readlink -f "$KERNEL")"): ${MEM} MiB, $CPUS vCPUs, $NODES nodes$([ $EMPTY_NODE = 1 ] && echo " + 1 without memory"), jobs: $JOBS"
start=$(date +%s)
if [ $VERBOSE = 1 ]; then
	tail -n +1 -F "$OUT/tap.log" 2>/dev/null &
	tailpid=$!
fi
timeout --kill-after=10 "$TIMEOUT" "${qemu[@]}" > "$OUT/qemu.log" 2>&1
rc=$?
[ $VERBOSE = 1 ] && { sleep 0.5; kill $tailpid 2>/dev/null; }
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	log "guest timed out after ${TIMEOUT} s"
	rc=124
elif [ $rc -ne 0 ]; then
	log "qemu exited with status $rc:"
	cat "$OUT/qemu.log" >&2
fi
log "guest ran $(( $(date +%s) - start )) s; logs in ${OUT#$ROOT/}/"
exit $rc
