#!/bin/bash
# Leave-one-set-out over the earlier final held-out sets (tests/data/dev*):
# for each set, trains on the authored corpus and the other sets, and measures
# on that set: reports written by authors the model never saw. This is how
# the trainer's settings were chosen (docs/classification.md); the final set
# (tests/data/final) takes no part.
#   tests/data/cross_sets.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
antt=$build/services/cli/antt
rules=$root/config/classification.rules
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sets=$(cd "$here" && ls -d dev* | sort)
for held in $sets; do
  args=(--corpus "$here/train.tsv")
  for s in $sets; do
    [ "$s" = "$held" ] && continue
    for f in "$here/$s"/*.tsv; do args+=(--corpus "$f"); done
  done
  "$antt" train --rules "$rules" "${args[@]}" -o "$work/$held.model" >/dev/null
  for f in "$here/$held"/*.tsv; do
    style=$(basename "$f" .tsv)
    "$antt" classify --model "$work/$held.model" --tsv < "$f" | awk -v h="$held" -v st="$style" '
      /^category accuracy/ {c=$3} /^priority accuracy/ {p=$3} /^P1 recall/ {r=$3; q=$6}
      END {gsub(/[%,]/,"",c); gsub(/[%,]/,"",p); gsub(/[%,]/,"",r); gsub(/[%,]/,"",q); print h, st, c, p, r, q}'
  done
done | awk '{ printf "%-5s %-10s category %5.1f %%  priority %5.1f %%  P1 recall %5.1f %%  P1 precision %5.1f %%\n", $1, $2, $3, $4, $5, $6
              c[$2]+=$3; p[$2]+=$4; r[$2]+=$5; q[$2]+=$6; n[$2]++; C+=$3; P+=$4; R+=$5; Q+=$6; N++ }
  END { for (s in c) printf "mean  %-10s category %5.1f %%  priority %5.1f %%  P1 recall %5.1f %%  P1 precision %5.1f %%\n", s, c[s]/n[s], p[s]/n[s], r[s]/n[s], q[s]/n[s]
        printf "mean  all        category %5.2f %%  priority %5.2f %%  P1 recall %5.2f %%  P1 precision %5.2f %%\n", C/N, P/N, R/N, Q/N }'
