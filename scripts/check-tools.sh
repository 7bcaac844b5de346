#!/usr/bin/env bash
# Every program the tests run, checked before anything is built: a missing one fails at once,
# named with the Debian package that provides it (scripts/debian-packages.txt installs them all),
# so that CI on a machine that happens to have a tool cannot hide a missing install step.
set -uo pipefail
# program  package
tools="
bc bc
timeout coreutils
flock util-linux
/usr/bin/time time
/usr/bin/python3 python3
openssl openssl
Orthanc orthanc
dcmqrscp dcmtk
dcmqridx dcmtk
storescu dcmtk
storescp dcmtk
findscu dcmtk
movescu dcmtk
getscu dcmtk
echoscu dcmtk
dcmdump dcmtk
dcmodify dcmtk
dciodvfy dicom3tools
clang++ clang
clang-format clang-format
clang-tidy clang-tidy
cmake cmake
ninja ninja-build
"
missing=0
while read -r program package; do
  [ -n "$program" ] || continue
  if ! command -v "$program" >/dev/null 2>&1; then
    echo "check-tools: '$program' is missing (Debian package $package; scripts/install-deps.sh installs it)" >&2
    missing=1
  fi
done <<<"$tools"
# Python modules the fixtures and reference checks import
for module in pydicom numpy torch PIL jsonschema gdcm nibabel dicompylercore; do
  if ! /usr/bin/python3 -c "import $module" >/dev/null 2>&1; then
    echo "check-tools: Python module '$module' is missing for /usr/bin/python3 (scripts/debian-packages.txt)" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] && echo "check-tools: every program the tests run is installed"
exit "$missing"
