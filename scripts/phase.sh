#!/usr/bin/env bash
# Run one named phase of `make test` and say how long it took:
#   scripts/phase.sh NAME COMMAND [ARG...]
# Prints "==> NAME" before and "<== NAME: ok|failed (exit N) in S s" after. When
# PI_K8S_PHASES is set, appends "NAME<TAB>ok|failed<TAB>seconds" to that file (.ci/run
# prints the table at the end). Exits with the command's status.
set -uo pipefail
name=$1
shift
echo "==> $name"
start=$(date +%s)
"$@"
rc=$?
took=$(($(date +%s) - start))
if [ "$rc" -eq 0 ]; then verdict=ok; else verdict=failed; fi
if [ "$rc" -eq 0 ]; then
  echo "<== $name: ok in ${took} s"
else
  echo "<== $name: failed (exit $rc) in ${took} s"
fi
if [ -n "${PI_K8S_PHASES:-}" ]; then
  printf '%s\t%s\t%s\n' "$name" "$verdict" "$took" >>"$PI_K8S_PHASES"
fi
exit "$rc"
