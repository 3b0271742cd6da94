# Helpers the benchmark scripts share (sourced, not run).

# The median of the numbers on standard input (whitespace separated).
median() { tr -s ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# a / b to three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
