# Shared by the command-line test scripts (sourced after `work` is set): counters, expect.
fails=0 passes=0
ok()   { passes=$((passes+1)); }
bad()  { echo "FAIL: $*"; fails=$((fails+1)); }

# shellcheck source=tests/dciodvfy.sh
. "$(dirname "${BASH_SOURCE[0]}")/../dciodvfy.sh"

# expect RC DESCRIPTION -- command...: checks the exit code and that stderr is one line
# (the command's output in $work/out, its errors in $work/err)
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$work/out" 2>"$work/err"; local rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$what: exit $rc, wanted $want; stderr: $(cat "$work/err")"; return; fi
  if [ "$want" -ne 0 ] && [ "$(wc -l <"$work/err")" -ne 1 ]; then bad "$what: stderr is not one line: $(cat "$work/err")"; return; fi
  ok
}
