# Sourced by the shell tests: the one strict dciodvfy check. Needs the caller's ok, bad and $work.
# shellcheck shell=bash
# dciodvfy_clean FILE WHAT: dciodvfy must run normally on FILE and find no error. dciodvfy (Debian
# dicom3tools 1.00~20220618) writes everything to stderr: the IOD it recognised on a line of its own
# ("RawData", "MRImage", "RTStructureSet"), then "Warning - ..." / "Error - ..." lines (some prefixed
# with the tag); it exits 0 without errors, 1 with errors or when it cannot read the file ("Abort").
# A missing tool, an abort, no IOD line or an exit status that disagrees with the error lines fail.
dciodvfy_clean() {
  local file=$1 what=$2 rc n
  command -v dciodvfy >/dev/null || { bad "$what: dciodvfy missing (dicom3tools)"; return; }
  dciodvfy "$file" >"$work/dciodvfy.out" 2>&1; rc=$?
  if grep -q '^Abort' "$work/dciodvfy.out" || ! grep -qE '^[A-Z][A-Za-z0-9]*$' "$work/dciodvfy.out"; then
    bad "$what: dciodvfy did not validate $file: $(head -3 "$work/dciodvfy.out")"; return
  fi
  n=$(grep -cE '^Error| - Error - ' "$work/dciodvfy.out")
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then bad "$what: dciodvfy exit $rc"; return; fi
  if [ $((rc == 0)) -ne $((n == 0)) ]; then bad "$what: dciodvfy exit $rc but $n error lines"; return; fi
  [ "$n" -eq 0 ] && ok || bad "$what: dciodvfy reports $n errors: $(grep -E '^Error| - Error - ' "$work/dciodvfy.out" | head -3)"
}
