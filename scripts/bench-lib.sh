# Shared by the bench scripts: set-up of the tools and timing helpers. Source it, don't run it.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gen="$root/../shared/bench/gen_market.py"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

bench_setup() {
  command -v hugo >/dev/null && [ -x /usr/bin/time ] || {
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hugo time >/dev/null; }
  python3 -c 'import PIL, yaml' 2>/dev/null || pip install -q pillow pyyaml
  [ -f "$gen" ] || { echo "needs $gen (the shared bench generator)" >&2; exit 2; }
  cargo build --release --quiet --bin chalet --manifest-path "$root/Cargo.toml"
  chalet="$root/target/release/chalet"
}

# measure OUTDIR CMD...: runs CMD once; prints "wall_s cpu_s maxrss_kb".
measure() {
  local dir=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$dir/time.txt" "$@" >"$dir/stdout.txt" 2>"$dir/stderr.txt" || { cat "$dir/stderr.txt" >&2; exit 1; }
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$dir/time.txt"
}

# median: of the numbers on stdin, one a line; blank lines are not numbers (a here-string of
# lines ends with one, which sorted first and made the "median" of 3 runs their fastest).
median() { grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
