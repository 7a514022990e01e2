set terminal pngcairo size 900,560 font "sans,11"
set grid
set key top left
set output "benchmarks/plots/splits.png"
set title "Direct-map level-2 splits against long-lived secrets"
set xlabel "secrets held"
set ylabel "2M direct-map mappings split into 4K"
set logscale x
unset logscale y
plot "benchmarks/plots/steps-fresh-stock.dat" using 1:2 with linespoints lw 2 title "stock, fresh memory", "benchmarks/plots/steps-fresh-upstream.dat" using 1:2 with linespoints lw 2 title "upstream, fresh memory", "benchmarks/plots/steps-fresh-pool.dat" using 1:2 with linespoints lw 2 title "pool, fresh memory", "benchmarks/plots/steps-fresh-reserve.dat" using 1:2 with linespoints lw 2 title "reserve, fresh memory", "benchmarks/plots/steps-aged-stock.dat" using 1:2 with linespoints lw 2 title "stock, aged memory", "benchmarks/plots/steps-aged-upstream.dat" using 1:2 with linespoints lw 2 title "upstream, aged memory", "benchmarks/plots/steps-aged-pool.dat" using 1:2 with linespoints lw 2 title "pool, aged memory"
set output "benchmarks/plots/directmap-4k.png"
set title "4K-mapped direct map against long-lived secrets"
set xlabel "secrets held"
set ylabel "direct map mapped with 4K pages (MiB, change)"
set logscale x
unset logscale y
plot "benchmarks/plots/steps-fresh-stock.dat" using 1:3 with linespoints lw 2 title "stock, fresh memory", "benchmarks/plots/steps-fresh-upstream.dat" using 1:3 with linespoints lw 2 title "upstream, fresh memory", "benchmarks/plots/steps-fresh-pool.dat" using 1:3 with linespoints lw 2 title "pool, fresh memory", "benchmarks/plots/steps-fresh-reserve.dat" using 1:3 with linespoints lw 2 title "reserve, fresh memory", "benchmarks/plots/steps-aged-stock.dat" using 1:3 with linespoints lw 2 title "stock, aged memory", "benchmarks/plots/steps-aged-upstream.dat" using 1:3 with linespoints lw 2 title "upstream, aged memory", "benchmarks/plots/steps-aged-pool.dat" using 1:3 with linespoints lw 2 title "pool, aged memory"
set output "benchmarks/plots/throughput-fresh.png"
set title "Secret page faults against threads (fresh memory)"
set xlabel "threads"
set ylabel "pages/s"
unset logscale x
set xtics 1
set yrange [0:*]
plot "benchmarks/plots/throughput-fresh.dat" using 1:2 with linespoints lw 2 title "shmem", "benchmarks/plots/throughput-fresh.dat" using 1:3 with linespoints lw 2 title "stock", "benchmarks/plots/throughput-fresh.dat" using 1:4 with linespoints lw 2 title "upstream", "benchmarks/plots/throughput-fresh.dat" using 1:5 with linespoints lw 2 title "pool", "benchmarks/plots/throughput-fresh.dat" using 1:6 with linespoints lw 2 title "reserve"
unset xtics
set xtics
set autoscale y
set output "benchmarks/plots/throughput-aged.png"
set title "Secret page faults against threads (aged memory)"
set xlabel "threads"
set ylabel "pages/s"
unset logscale x
set xtics 1
set yrange [0:*]
plot "benchmarks/plots/throughput-aged.dat" using 1:2 with linespoints lw 2 title "shmem", "benchmarks/plots/throughput-aged.dat" using 1:3 with linespoints lw 2 title "stock", "benchmarks/plots/throughput-aged.dat" using 1:4 with linespoints lw 2 title "upstream", "benchmarks/plots/throughput-aged.dat" using 1:5 with linespoints lw 2 title "pool"
unset xtics
set xtics
set autoscale y
