#!/usr/bin/env bash
# DICOM digital signatures on the command line: pack --sign-key, sign, inspect (--trusted),
# rtstruct show, predict --rtstruct --sign-key; dcmsign and dciodvfy agree.
# Usage: signatures.sh IODEEP FIXTURES_DIR SOURCE_DIR (FIXTURES_DIR/pki from make_pki.sh)
set -uo pipefail
IODEEP=$1 FIX=$2 SRC=$3
PKI=$FIX/pki
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# has FILE TEXT DESCRIPTION: FILE contains TEXT
has() { grep -qF -- "$2" "$1" && ok || bad "$3: no '$2' in: $(head -c 600 "$1")"; }
# dcmsign_ok FILE WHAT: DCMTK's own verifier accepts every signature with the test CA as trusted
dcmsign_ok() {
  dcmsign --verify "$1" +cf "$PKI/ca.pem" >"$work/dcmsign" 2>&1; local rc=$?
  if [ "$rc" -eq 0 ] && grep -q "Signature Verification : OK" "$work/dcmsign" && ! grep -q "failed" "$work/dcmsign"; then ok
  else bad "$2: dcmsign --verify exit $rc: $(cat "$work/dcmsign")"; fi
}
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$work/out"; }

ARCH=$SRC/examples/tiny-unet/architecture.json
W=$SRC/examples/tiny-unet/weights.safetensors
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
SLICE=$FIX/brain-series/slice_030.dcm
KEY="--sign-key $PKI/signer.key --sign-certificate $PKI/signer.pem"
[ -f "$PKI/ca.pem" ] && ok || { bad "no test PKI in $PKI (make_pki fixture)"; echo "$passes passed, $fails failed"; exit 1; }

# --- pack --sign-key: signed before it appears; inspect shows the signer
# shellcheck disable=SC2086
expect 0 "pack --sign-key" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n t -m MR -b HEAD $KEY -o "$work/signed.dcm"
has "$work/out" "signed by" "pack prints the signer"
expect 0 "inspect signed" -- "$IODEEP" inspect "$work/signed.dcm"
has "$work/out" "signature 1: verified, covers the whole object" "inspect signature line"
has "$work/out" "signer:    O=IODEEP Test Hospital,CN=Model Lab Signer" "inspect shows the signer subject"
has "$work/out" "issuer:    CN=IODEEP Test Hospital CA" "inspect shows the issuer"
has "$work/out" "signed at: " "inspect shows the signing time"
has "$work/out" "MAC SHA256" "inspect shows the MAC"
expect 0 "inspect signed --json" -- "$IODEEP" inspect "$work/signed.dcm" --json
json 'assert d["ok"] and d["signed"] and len(d["signatures"]) == 1; s = d["signatures"][0]; assert s["verified"] and s["coversWholeDataset"] and s["signatureAlgorithm"] == "RSA" and "Model Lab Signer" in s["signer"]["subject"] and s["signer"]["notAfter"].endswith("Z")' &&
  ok || bad "inspect --json signatures: $(head -c 400 "$work/out")"
dcmsign_ok "$work/signed.dcm" "packed object"
dciodvfy_clean "$work/signed.dcm" "signed IODeep object"
expect 0 "inspect --trusted CA" -- "$IODEEP" inspect "$work/signed.dcm" --trusted "$PKI/ca.pem"
has "$work/out" "trusted: the chain leads to CN=IODEEP Test Hospital CA" "inspect --trusted prints the decision"
expect 4 "inspect --trusted rogue CA" -- "$IODEEP" inspect "$work/signed.dcm" --trusted "$PKI/rogue-ca.pem"
has "$work/err" "does not lead to a trusted certificate" "untrusted reason"
expect 0 "inspect --trusted twice" -- "$IODEEP" inspect "$work/signed.dcm" --trusted "$PKI/rogue-ca.pem" --trusted "$PKI/ca.pem"
expect 3 "inspect --trusted missing file" -- "$IODEEP" inspect "$work/signed.dcm" --trusted "$work/absent.pem"

# pack refusals: nothing written
# shellcheck disable=SC2086
expect 4 "pack with a key that is not the certificate's" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n t -m MR -b HEAD \
  --sign-key "$PKI/signer-ec.key" --sign-certificate "$PKI/signer.pem" -o "$work/p1.dcm"
has "$work/err" "SigningFailed" "wrong key reported as SigningFailed"
[ ! -e "$work/p1.dcm" ] && ok || bad "pack left an output after SigningFailed"
expect 4 "pack with an expired certificate" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n t -m MR -b HEAD \
  --sign-key "$PKI/expired.key" --sign-certificate "$PKI/expired.pem" -o "$work/p2.dcm"
[ ! -e "$work/p2.dcm" ] && ok || bad "pack left an output with an expired certificate"
expect 3 "pack with a missing key" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n t -m MR -b HEAD \
  --sign-key "$work/absent.key" --sign-certificate "$PKI/signer.pem" -o "$work/p3.dcm"
expect 2 "pack --sign-key without certificate" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n t -m MR -b HEAD \
  --sign-key "$PKI/signer.key" -o "$work/p4.dcm"

# --- iodeep sign
expect 0 "pack unsigned" -- "$IODEEP" pack -a "$ARCH" -w "$W" -n t -m MR -b HEAD -o "$work/plain.dcm"
expect 0 "inspect unsigned" -- "$IODEEP" inspect "$work/plain.dcm"
has "$work/out" "signatures:  not signed" "unsigned object says not signed"
expect 4 "inspect unsigned --trusted" -- "$IODEEP" inspect "$work/plain.dcm" --trusted "$PKI/ca.pem"
has "$work/err" "not signed" "untrusted unsigned reason"
expect 0 "sign -o" -- "$IODEEP" sign "$work/plain.dcm" --key "$PKI/signer-ec.key" --certificate "$PKI/signer-ec.pem" -o "$work/ec.dcm"
has "$work/out" "CN=Model Lab Signer EC" "sign prints the signer"
dcmsign_ok "$work/ec.dcm" "signed by iodeep sign (EC)"
cp "$work/ec.dcm" "$work/twice.dcm"
expect 0 "sign --in-place" -- "$IODEEP" sign "$work/twice.dcm" --key "$PKI/signer.key" --certificate "$PKI/signer.pem" --in-place
expect 0 "inspect twice signed" -- "$IODEEP" inspect "$work/twice.dcm" --trusted "$PKI/ca.pem"
has "$work/out" "signature 2: verified" "second signature"
dcmsign_ok "$work/twice.dcm" "signed twice"
expect 2 "sign without -o or --in-place" -- "$IODEEP" sign "$work/plain.dcm" --key "$PKI/signer.key" --certificate "$PKI/signer.pem"
expect 2 "sign with both -o and --in-place" -- "$IODEEP" sign "$work/plain.dcm" --key "$PKI/signer.key" --certificate "$PKI/signer.pem" -o "$work/x.dcm" --in-place
expect 3 "sign a missing file" -- "$IODEEP" sign "$work/absent.dcm" --key "$PKI/signer.key" --certificate "$PKI/signer.pem" -o "$work/x.dcm"
expect 3 "sign with a missing passphrase file" -- "$IODEEP" sign "$work/plain.dcm" --key "$PKI/signer.key" --certificate "$PKI/signer.pem" --passphrase-file "$work/absent" -o "$work/x.dcm"
cp "$work/plain.dcm" "$work/keep.dcm"
expect 4 "sign in place with an expired certificate" -- "$IODEEP" sign "$work/keep.dcm" --key "$PKI/expired.key" --certificate "$PKI/expired.pem" --in-place
cmp -s "$work/plain.dcm" "$work/keep.dcm" && ok || bad "a failed in-place sign changed the file"
expect 4 "sign not DICOM" -- "$IODEEP" sign "$ARCH" --key "$PKI/signer.key" --certificate "$PKI/signer.pem" -o "$work/x.dcm"
[ ! -e "$work/x.dcm" ] && ok || bad "sign left an output after a failure"
# an encrypted key and its passphrase file
openssl pkey -in "$PKI/signer.key" -aes256 -passout pass:s3cret -out "$work/enc.key" 2>/dev/null
printf 's3cret\n' >"$work/pass"
expect 4 "sign with an encrypted key and no passphrase" -- "$IODEEP" sign "$work/plain.dcm" --key "$work/enc.key" --certificate "$PKI/signer.pem" -o "$work/x.dcm"
expect 0 "sign with --passphrase-file" -- "$IODEEP" sign "$work/plain.dcm" --key "$work/enc.key" --certificate "$PKI/signer.pem" --passphrase-file "$work/pass" -o "$work/enc.dcm"

# --- tampering: one flipped payload bit, a signature over some attributes, a cut signature
/usr/bin/python3 - "$work/signed.dcm" "$work/flipped.dcm" <<'PY'
import sys, struct, pydicom
payload = bytes(pydicom.dcmread(sys.argv[1]).private_block(0x0017, "IODEEP 1")[0x10].value)
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.index(payload[:256])
n = struct.unpack('<Q', payload[:8])[0]
b[i + 8 + n + 100] ^= 0x01
open(sys.argv[2], 'wb').write(b)
PY
expect 4 "inspect flipped bit" -- "$IODEEP" inspect "$work/flipped.dcm"
has "$work/err" "MAC does not match" "flipped bit: the signature's reason comes first"
dcmsign --verify "$work/flipped.dcm" +cf "$PKI/ca.pem" >/dev/null 2>&1 && bad "dcmsign accepts the flipped bit" || ok
dcmsign --sign "$PKI/signer.key" "$PKI/signer.pem" --mac-sha256 --tag 0008,0016 --tag 0008,0018 "$work/plain.dcm" "$work/subset.dcm" >/dev/null 2>&1
expect 4 "inspect a signature over two attributes" -- "$IODEEP" inspect "$work/subset.dcm"
has "$work/err" "(0017,1010) DnnWeightsPayload" "subset signature names the payload unsigned"
/usr/bin/python3 - "$work/signed.dcm" "$work/cut.dcm" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
i = b.index(b'\xfa\xff\xfa\xffSQ')
open(sys.argv[2], 'wb').write(b[:i + 300])
PY
expect 4 "inspect a cut signature sequence" -- "$IODEEP" inspect "$work/cut.dcm"
has "$work/err" "SignatureInvalid" "cut signature reported as SignatureInvalid"

# --- signed approvals: predict --rtstruct --sign-key, rtstruct show, sign of a structure set
expect 0 "predict --rtstruct --sign-key" -- "$IODEEP" predict -m "$BRAIN" -i "$SLICE" --rtstruct "$work/rt.dcm" \
  --approve all --reviewer "Doe^Jane" --sign-key "$PKI/reviewer.key" --sign-certificate "$PKI/reviewer.pem"
has "$work/out" "signed by O=IODEEP Test Hospital,CN=Dr Reviewer" "predict prints the signer"
expect 0 "rtstruct show signed" -- "$IODEEP" rtstruct show "$work/rt.dcm" --trusted "$PKI/ca.pem"
has "$work/out" "APPROVED by Doe^Jane" "rtstruct show still shows the approval"
has "$work/out" "signer:    O=IODEEP Test Hospital,CN=Dr Reviewer" "rtstruct show shows the signer"
has "$work/out" "trusted: the chain leads to" "rtstruct show --trusted"
expect 0 "rtstruct show signed --json" -- "$IODEEP" rtstruct show "$work/rt.dcm" --json
json 'assert d["signed"] and d["signaturesOk"] and d["signatures"][0]["verified"] and d["signatures"][0]["coversWholeDataset"] and "Dr Reviewer" in d["signatures"][0]["signer"]["subject"]' &&
  ok || bad "rtstruct show --json: $(head -c 400 "$work/out")"
dcmsign_ok "$work/rt.dcm" "signed structure set"
dciodvfy_clean "$work/rt.dcm" "signed structure set"
sed 's/Doe^Jane/Doe^John/' "$work/rt.dcm" >"$work/rt-changed.dcm"
cmp -s "$work/rt.dcm" "$work/rt-changed.dcm" && bad "the reviewer's name was not changed" || ok
expect 4 "rtstruct show of a changed signed set" -- "$IODEEP" rtstruct show "$work/rt-changed.dcm"
has "$work/err" "MAC does not match" "changed structure set"
expect 4 "rtstruct show --trusted rogue" -- "$IODEEP" rtstruct show "$work/rt.dcm" --trusted "$PKI/rogue-ca.pem"
expect 0 "predict --rtstruct unsigned" -- "$IODEEP" predict -m "$BRAIN" -i "$SLICE" --rtstruct "$work/rt-plain.dcm" \
  --approve all --reviewer "Doe^Jane"
expect 0 "rtstruct show unsigned" -- "$IODEEP" rtstruct show "$work/rt-plain.dcm"
has "$work/out" "signatures:  not signed" "unsigned structure set"
expect 0 "sign a structure set" -- "$IODEEP" sign "$work/rt-plain.dcm" --key "$PKI/reviewer.key" --certificate "$PKI/reviewer.pem" --in-place
expect 0 "rtstruct show after sign" -- "$IODEEP" rtstruct show "$work/rt-plain.dcm" --trusted "$PKI/ca.pem"
has "$work/out" "CN=Dr Reviewer" "signed structure set shows the signer"
expect 4 "predict --sign-key with an expired certificate" -- "$IODEEP" predict -m "$BRAIN" -i "$SLICE" --rtstruct "$work/rt-bad.dcm" \
  --approve all --reviewer "Doe^Jane" --sign-key "$PKI/expired.key" --sign-certificate "$PKI/expired.pem"
[ ! -e "$work/rt-bad.dcm" ] && ok || bad "predict wrote a structure set it could not sign"
grep -q "forward" "$work/out" && bad "predict ran the network before finding the key unusable" || ok
expect 2 "predict --sign-key without --rtstruct" -- "$IODEEP" predict -m "$BRAIN" -i "$SLICE" \
  --sign-key "$PKI/reviewer.key" --sign-certificate "$PKI/reviewer.pem"

leftovers=$(find "$work" -name '.*.tmp-*' | wc -l)
[ "$leftovers" -eq 0 ] && ok || bad "$leftovers temporary files left behind"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
