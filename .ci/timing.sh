# Sourced by the .ci/ check scripts: `elapsed` prints the seconds since the script started (one decimal).
ci_start=$EPOCHREALTIME
elapsed() { awk -v a="$ci_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
