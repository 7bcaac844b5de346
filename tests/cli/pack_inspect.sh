#!/usr/bin/env bash
# The iodeep command line as a user meets it: exit codes, one-line errors, no partial files,
# dciodvfy on what we write. Usage: pack_inspect.sh IODEEP FIXTURES_DIR SOURCE_DIR
set -uo pipefail
IODEEP=$1 FIX=$2 SRC=$3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCH=$SRC/examples/tiny-unet/architecture.json
W=$SRC/examples/tiny-unet/weights.safetensors

expect 0 "help" -- "$IODEEP" --help
expect 0 "pack help" -- "$IODEEP" pack --help
grep -q -- "--body-part" "$work/out" && ok || bad "pack --help does not list --body-part"
expect 0 "inspect help" -- "$IODEEP" inspect --help
expect 2 "no command" -- "$IODEEP"
expect 2 "unknown command" -- "$IODEEP" frobnicate
expect 2 "unknown option" -- "$IODEEP" pack --bogus
expect 2 "missing name" -- "$IODEEP" pack -a "$ARCH" -w "$W" -m MR -b HEAD -o "$work/x.dcm"
expect 2 "bad samples" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n t -m MR -b HEAD --samples-per-pixel 2 -o "$work/x.dcm"

# a good pack, twice: same DnnUID, both valid, dciodvfy clean
expect 0 "pack" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n "Tiny UNet" -m MR -b HEAD --version 1 -o "$work/a.dcm"
expect 0 "pack again" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n "Tiny UNet" -m MR -b HEAD --version 1 -o "$work/b.dcm"
expect 0 "inspect" -- "$IODEEP" inspect "$work/a.dcm"
grep -q "check:       OK" "$work/out" && ok || bad "inspect does not say OK"
uid_a=$("$IODEEP" inspect "$work/a.dcm" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["dnn"]["uid"])')
uid_b=$("$IODEEP" inspect "$work/b.dcm" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["dnn"]["uid"])')
[ -n "$uid_a" ] && [ "$uid_a" = "$uid_b" ] && ok || bad "DnnUID differs between two packs: $uid_a $uid_b"
dciodvfy_clean "$work/a.dcm" "packed object"
# standard DCMTK tools read it
dcmdump "$work/a.dcm" >"$work/dump" 2>&1 && grep -q "IODEEP 1" "$work/dump" && ok || bad "dcmdump cannot read it"
# grep -q on a pipe would end the writer early under pipefail: always grep files

# bad input: one line naming the file, the right exit code, nothing written
echo "hello" >"$work/notdicom.dcm"
expect 4 "not DICOM" -- "$IODEEP" inspect "$work/notdicom.dcm"
grep -q "notdicom.dcm" "$work/err" && ok || bad "error does not name the file"
head -c 3000 "$work/a.dcm" >"$work/truncated.dcm"
expect 4 "truncated" -- "$IODEEP" inspect "$work/truncated.dcm"
grep -q "TruncatedDicom" "$work/err" && ok || bad "truncated not reported as such: $(cat "$work/err")"
expect 3 "missing file" -- "$IODEEP" inspect "$work/absent.dcm"
CT=/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm
expect 4 "DICOM but not IODeep" -- "$IODEEP" inspect "$CT"
grep -q "NotIodeep" "$work/err" && ok || bad "CT_small not reported as NotIodeep"

printf '{\n  "layers": [\n    {"id": 1,}\n  ]\n}\n' >"$work/broken.json"
expect 4 "architecture not JSON" -- "$IODEEP" pack -a "$work/broken.json" -w "$W" -n t -m MR -b HEAD -o "$work/c.dcm"
grep -q "broken.json:3:14" "$work/err" && ok || bad "no line:column: $(cat "$work/err")"
[ ! -e "$work/c.dcm" ] && ok || bad "partial output after a failed pack"
expect 5 "unwritable output" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n t -m MR -b HEAD -o "$work/no/such/dir/x.dcm"
expect 4 "OrderedDict" -- "$IODEEP" pack -a "$ARCH" -w "$FIX/ordered.pt" -n t -m MR -b HEAD -o "$work/d.dcm"
grep -q "OrderedDict" "$work/err" && ok || bad "OrderedDict message"
[ ! -e "$work/d.dcm" ] && ok || bad "partial output after OrderedDict"

# SHA-256 mismatch: flip one bit inside the tensor data
/usr/bin/python3 - "$work/a.dcm" "$work/flipped.dcm" <<'PY'
import sys, struct, pydicom
payload = bytes(pydicom.dcmread(sys.argv[1]).private_block(0x0017, "IODEEP 1")[0x10].value)
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.index(payload[:256])    # where the payload sits in the file
n = struct.unpack('<Q', payload[:8])[0]
b[i + 8 + n + 100] ^= 0x01    # a bit of tensor data
open(sys.argv[2], 'wb').write(b)
PY
expect 4 "flipped bit" -- "$IODEEP" inspect "$work/flipped.dcm"
grep -q "SHA-256 mismatch" "$work/err" && ok || bad "flipped bit not reported as SHA-256 mismatch: $(cat "$work/err")"

# NaN weights are refused at pack time
/usr/bin/python3 - "$work/nan.safetensors" <<'PY'
import sys, struct, json
h = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + struct.pack('<ff', 1.0, float('nan')))
PY
expect 4 "NaN weights" -- "$IODEEP" pack -a "$ARCH" -w "$work/nan.safetensors" -n t -m MR -b HEAD -o "$work/e.dcm"
grep -q "NonFiniteWeights" "$work/err" && ok || bad "NaN not reported"

# legacy objects
expect 4 "inspect legacy" -- "$IODEEP" inspect "$FIX/legacy_implicit.dcm"
grep -q "LEGACY" "$work/out" && ok || bad "legacy not reported"
expect 0 "convert legacy" -- "$IODEEP" pack --from-legacy "$FIX/legacy_implicit.dcm" -o "$work/converted.dcm"
expect 0 "inspect converted" -- "$IODEEP" inspect "$work/converted.dcm"
# as the reference code writes them (pydicom, no preamble) and as bare data sets (make_fixtures.py)
for kind in nopreamble nometa_implicit nometa_explicit nometa_bigendian; do
  expect 4 "inspect legacy $kind" -- "$IODEEP" inspect "$FIX/legacy_$kind.dcm"
  grep -q "LEGACY" "$work/out" && ok || bad "legacy $kind not reported as LEGACY: $(cat "$work/out")"
  expect 0 "convert legacy $kind" -- "$IODEEP" pack --from-legacy "$FIX/legacy_$kind.dcm" -o "$work/converted_$kind.dcm"
  expect 0 "inspect converted $kind" -- "$IODEEP" inspect "$work/converted_$kind.dcm"
done
expect 4 "convert OrderedDict legacy" -- "$IODEEP" pack --from-legacy "$FIX/legacy_ordered.dcm" -o "$work/f.dcm"
[ ! -e "$work/f.dcm" ] && ok || bad "partial output after failed conversion"

# architectures: check, init, and weights that must fit
expect 0 "arch check" -- "$IODEEP" arch check "$ARCH"
grep -q "30267 parameters" "$work/out" && ok || bad "arch check: parameter count"
expect 0 "arch check --input" -- "$IODEEP" arch check "$ARCH" --input 1x256x256
grep -q "output \[1, 256, 256\]" "$work/out" && ok || bad "arch check --input: output shape"
expect 0 "arch check paper U-Net" -- "$IODEEP" arch check "$SRC/examples/dnn-parser-unet/architecture.json"
grep -q "31402515 parameters" "$work/out" && ok || bad "paper U-Net parameter count"
printf '{"input": {"channels": 1, "height": 8, "width": 8}, "layers": [{"id": "a", "type": "conv2d", "kernel_size": 3}]}' >"$work/bad-arch.json"
expect 4 "arch check missing out_channels" -- "$IODEEP" arch check "$work/bad-arch.json"
grep -q "layer 'a' (/layers/0/out_channels)" "$work/err" && ok || bad "arch check error does not name layer and pointer: $(cat "$work/err")"
expect 2 "arch without subcommand" -- "$IODEEP" arch
expect 2 "arch check bad --input" -- "$IODEEP" arch check "$ARCH" --input 1x2
expect 0 "arch init" -- "$IODEEP" arch init "$ARCH" --seed 3 -o "$work/init3.safetensors"
expect 0 "arch init again" -- "$IODEEP" arch init "$ARCH" --seed 3 -o "$work/init3b.safetensors"
cmp -s "$work/init3.safetensors" "$work/init3b.safetensors" && ok || bad "arch init is not deterministic"
expect 0 "pack initialised weights" -- "$IODEEP" pack -a "$ARCH" -w "$work/init3.safetensors" -n t -m MR -b HEAD -o "$work/init.dcm"
expect 0 "inspect shows the network" -- "$IODEEP" inspect "$work/init.dcm"
grep -q "network:     DNN-parser architecture" "$work/out" && grep -q "10_skip\|8_skip" "$work/out" && ok || bad "inspect: no shape table"
expect 4 "weights that do not fit" -- "$IODEEP" pack -a "$SRC/examples/dnn-parser-unet/architecture.json" -w "$W" -n t -m MR -b HEAD -o "$work/g.dcm"
grep -q "WeightsMismatch" "$work/err" && ok || bad "no WeightsMismatch: $(cat "$work/err")"
[ ! -e "$work/g.dcm" ] && ok || bad "partial output after WeightsMismatch"
expect 0 "pack TorchScript network" -- "$IODEEP" pack -a "$FIX/torchscript.arch.json" -w "$FIX/torchscript.pt" -n ts -m MR -b HEAD -o "$work/ts.dcm"
expect 0 "inspect TorchScript network" -- "$IODEEP" inspect "$work/ts.dcm"
grep -q "TorchScript archive: code as well as data" "$work/out" && ok || bad "inspect does not warn about TorchScript"

# the example series is ours too: dciodvfy must find no error in any of its 62 slices
nslices=$(find "$FIX/brain-series" -name 'slice_*.dcm' | wc -l)
[ "$nslices" -eq 62 ] && ok || bad "example series has $nslices slices, wanted 62"
for f in "$FIX"/brain-series/slice_*.dcm; do dciodvfy_clean "$f" "example series $(basename "$f")"; done

# predict: Algorithm 2 on a slice of the example series with the committed brain model
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
expect 0 "inspect brain model" -- "$IODEEP" inspect "$BRAIN"
expect 0 "predict" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_022.dcm" --json "$work/p.json" --png "$work/p.png"
grep -q "1. Brain:" "$work/out" && ok || bad "predict printed no Brain proposal: $(cat "$work/out")"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=d["proposals"][0]; assert p["label"]=="Brain" and len(p["rings"][0]["patientMm"])>3' "$work/p.json" && ok || bad "predict JSON"
[ "$(head -c 8 "$work/p.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] && ok || bad "predict PNG signature"
for kind in nopreamble nometa_implicit nometa_explicit nometa_bigendian; do
  expect 0 "predict on a slice $kind" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/slice_022_$kind.dcm"
  grep -q "1. Brain:" "$work/out" && ok || bad "predict on $kind printed no Brain proposal: $(cat "$work/out")"
done
expect 2 "predict without image" -- "$IODEEP" predict -m "$BRAIN"
expect 4 "predict RGB into a grey network" -- "$IODEEP" predict -m "$BRAIN" -i /usr/lib/python3/dist-packages/pydicom/data/test_files/SC_rgb_dcmtk_+eb+cr.dcm
grep -q "IncompatibleImage" "$work/err" && ok || bad "RGB slice not reported as IncompatibleImage: $(cat "$work/err")"
expect 4 "predict with a tampered model" -- "$IODEEP" predict -m "$work/flipped.dcm" -i "$FIX/brain-series/slice_022.dcm"
expect 5 "predict to an unwritable JSON" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_022.dcm" --json "$work/none/p.json"

/usr/bin/python3 - "$FIX/brain-series/slice_030.dcm" "$work/nogeo.dcm" <<'PY'
import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
for k in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
    delattr(ds, k)
ds.save_as(sys.argv[2])
PY
# review: approved and rejected structure sets, read back by us and by dicompyler-core
expect 0 "predict with review" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_030.dcm" --json "$work/p30.json" \
  --rtstruct "$work/approved.dcm" --approve all --reviewer "Doe^Jane"
dciodvfy_clean "$work/approved.dcm" "approved structure set"
expect 0 "rtstruct show" -- "$IODEEP" rtstruct show "$work/approved.dcm"
grep -q "APPROVED by Doe^Jane" "$work/out" && grep -q "DnnUID" "$work/out" && ok || bad "rtstruct show: $(cat "$work/out")"
expect 0 "rtstruct show --json" -- "$IODEEP" rtstruct show "$work/approved.dcm" --json
# the structure set rewritten by pydicom without preamble, and as bare data sets
/usr/bin/python3 - "$work/approved.dcm" "$work" <<'PY'
import sys, pydicom
from pydicom.dataset import FileMetaDataset
for kind, implicit, little in (("nopreamble", None, None), ("implicit", True, True), ("explicit", False, True),
                               ("bigendian", False, False)):
    ds = pydicom.dcmread(sys.argv[1])
    ds.preamble = None
    if implicit is not None:
        ds.file_meta = FileMetaDataset()
        ds.is_implicit_VR, ds.is_little_endian = implicit, little
    ds.save_as(f"{sys.argv[2]}/approved_{kind}.dcm", write_like_original=True)
PY
for kind in nopreamble implicit explicit bigendian; do
  expect 0 "rtstruct show $kind" -- "$IODEEP" rtstruct show "$work/approved_$kind.dcm"
  grep -q "APPROVED by Doe^Jane" "$work/out" && ok || bad "rtstruct show $kind: $(cat "$work/out")"
done
/usr/bin/python3 "$SRC/tests/rtstruct/dicompyler_check.py" "$work/approved.dcm" "$work/p30.json" >"$work/dcp" 2>&1 && ok ||
  bad "dicompyler-core disagrees: $(cat "$work/dcp")"
expect 0 "reject everything" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_030.dcm" --approve none \
  --reviewer "Doe^Jane" --rejected-rtstruct "$work/rejected.dcm"
expect 0 "rtstruct show rejected" -- "$IODEEP" rtstruct show "$work/rejected.dcm"
grep -q "REJECTED" "$work/out" && ok || bad "rejected set not REJECTED"
expect 2 "empty approved set" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_030.dcm" --approve none \
  --reviewer "Doe^Jane" --rtstruct "$work/empty.dcm"
[ ! -e "$work/empty.dcm" ] && ok || bad "an empty approved set was written"
expect 2 "approve without reviewer" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_030.dcm" --approve all --rtstruct "$work/x.dcm"
expect 2 "approve a proposal that does not exist" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_030.dcm" --approve 7 \
  --reviewer "Doe^Jane" --rtstruct "$work/x.dcm"
expect 4 "secondary capture without geometry" -- "$IODEEP" predict -m "$SRC/examples/brain-unet/brain-unet.dcm" \
  -i "$work/nogeo.dcm" --approve all --reviewer "Doe^Jane" --rtstruct "$work/x.dcm"
expect 4 "rtstruct show of a CT" -- "$IODEEP" rtstruct show /usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm

# --- SamplesPerPixel against the network's input channels (PACS-workflow issue; channels branch) ---
# Regression: a 3-channel network packed with the default SamplesPerPixel 1 was accepted, and
# selection would then choose it for slices that every prediction refuses.
printf '{"input": {"channels": 3, "height": 8, "width": 8}, "layers": [{"id": "head", "type": "conv2d", "out_channels": 1, "kernel_size": 1}]}' >"$work/rgb3.json"
expect 0 "arch init 3-channel" -- "$IODEEP" arch init "$work/rgb3.json" --seed 1 -o "$work/rgb3.safetensors"
expect 4 "3-channel strict network with SamplesPerPixel 1" -- "$IODEEP" pack -a "$work/rgb3.json" -w "$work/rgb3.safetensors" \
  -n rgb -m MR -b HEAD --samples-per-pixel 1 -o "$work/rgb3-1.dcm"
grep -q "ChannelMismatch" "$work/err" && grep -q "rgb3.json" "$work/err" && ok || bad "SamplesPerPixel 1 not refused as ChannelMismatch: $(cat "$work/err")"
[ ! -e "$work/rgb3-1.dcm" ] && ok || bad "partial output after ChannelMismatch"
expect 0 "SamplesPerPixel from the network" -- "$IODEEP" pack -a "$work/rgb3.json" -w "$work/rgb3.safetensors" -n rgb -m MR -b HEAD -o "$work/rgb3.dcm"
grep -q "3 sample(s) (from the network's input), RGB" "$work/out" && ok || bad "default SamplesPerPixel: $(cat "$work/out")"
printf '{"channels": "replicate"}' >"$work/replicate.json"
expect 0 "pack with --preprocessing" -- "$IODEEP" pack -a "$work/rgb3.json" -w "$work/rgb3.safetensors" -n rgb -m MR -b HEAD \
  --samples-per-pixel 1 --preprocessing "$work/replicate.json" -o "$work/rgb3-rep.dcm"
expect 0 "inspect the replicated object" -- "$IODEEP" inspect "$work/rgb3-rep.dcm"
grep -q "channels:    SamplesPerPixel 1 -> 3 input channel(s): grey replicated into 3 channels" "$work/out" && ok || bad "inspect channels line: $(cat "$work/out")"
printf '{"channels": "rgb"}' >"$work/badpre.json"
expect 4 "invalid --preprocessing" -- "$IODEEP" pack -a "$work/rgb3.json" -w "$work/rgb3.safetensors" -n rgb -m MR -b HEAD \
  --preprocessing "$work/badpre.json" -o "$work/rgb3-bad.dcm"
grep -q "badpre.json" "$work/err" && grep -q "/preprocessing/channels" "$work/err" && ok || bad "invalid --preprocessing: $(cat "$work/err")"
expect 2 "--preprocessing over an existing section" -- "$IODEEP" pack -a "$SRC/examples/brain-unet/architecture.json" -w "$W" -n t -m MR -b HEAD \
  --preprocessing "$work/replicate.json" -o "$work/rgb3-twice.dcm"
# an object another tool wrote with SamplesPerPixel 1: inspect flags it (DnnUID does not cover the target)
/usr/bin/python3 - "$work/rgb3.dcm" "$work/rgb3-grey.dcm" <<'PY'
import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"
ds.save_as(sys.argv[2])
PY
expect 4 "inspect SamplesPerPixel that never feeds" -- "$IODEEP" inspect "$work/rgb3-grey.dcm" --json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(f["code"]=="ChannelMismatch" and f["severity"]=="error" for f in d["findings"])' "$work/out" &&
  ok || bad "inspect --json: no ChannelMismatch finding: $(cat "$work/out")"
# --- end of the channels block ---

# no temporary files left anywhere in the work directory
# the whole example series at once: one structure set, one ROI contoured on every slice with a
# proposal (the same count as the slices' proposals in the JSON); the JSON names each slice
expect 0 "predict --series" -- "$IODEEP" predict -m "$BRAIN" --series "$FIX/brain-series" --json "$work/series.json" \
  --rtstruct "$work/series-rt.dcm" --approve all --reviewer "Doe^Jane"
grep -qE "slices: +62, proposals: [0-9]+" "$work/out" && ok || bad "predict --series: $(head -3 "$work/out")"
n=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(s["proposals"]) for s in d["slices"]) if len(d["slices"]) == 62 else -1)' "$work/series.json")
grep -q "1 ROI(s), $n contour(s) on the series" "$work/out" && [ "$n" -gt 40 ] && ok ||
  bad "predict --series: $n proposals, not one ROI with as many contours: $(tail -2 "$work/out")"
dciodvfy_clean "$work/series-rt.dcm" "the series' structure set"
expect 2 "predict with both --image and --series" -- "$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_022.dcm" \
  --series "$FIX/brain-series"
expect 3 "predict --series of no directory" -- "$IODEEP" predict -m "$BRAIN" --series "$work/absent"

leftovers=$(find "$work" -name '.*.tmp-*' | wc -l)
[ "$leftovers" -eq 0 ] && ok || bad "$leftovers temporary files left behind"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
