#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# capture-directmap.sh DIR: save what directmap-inspect.py reads into DIR,
# to look at later or elsewhere:
#   directmap-inspect.py --snapshot DIR --picture --png map.png
# Needs root and debugfs (mounted at /sys/kernel/debug).
set -e
dir=${1:?usage: capture-directmap.sh DIR}
mkdir -p "$dir"
cat /sys/kernel/debug/page_tables/kernel > "$dir/page_tables"
cat /proc/meminfo > "$dir/meminfo"
cat /proc/vmstat > "$dir/vmstat"
cat /proc/zoneinfo > "$dir/zoneinfo"
cat /proc/iomem > "$dir/iomem"
if [ -r /sys/kernel/debug/secretpool/regions ]; then
	cat /sys/kernel/debug/secretpool/regions > "$dir/regions"
	cat /sys/kernel/debug/secretpool/stats > "$dir/stats"
fi
echo "saved to $dir"
