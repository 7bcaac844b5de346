# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034
# Sourced by the end-to-end bench scripts: the network MODEL names (brain or paper) as an IODeep
# file. Needs $root, $IODEEP and $work; sets $model.
#   brain  the trained brain U-Net (examples/brain-unet, 482 KB)
#   paper  the paper's DNN-parser U-Net, 31.4 M parameters (126 MB, random weights; its
#          224x224x3 input takes the grey slice replicated), packed into $work
bench_model() {
  case $1 in
    brain) model="$root/examples/brain-unet/brain-unet.dcm" ;;
    paper)
      cp "$root/examples/dnn-parser-unet/architecture.json" "$work/paper.json"
      "$IODEEP" arch init "$work/paper.json" --seed 1 -o "$work/paper.safetensors" >/dev/null
      "$IODEEP" pack -a "$work/paper.json" -w "$work/paper.safetensors" -n "Paper UNet (random weights, bench)" \
        -m MR -b HEAD -o "$work/paper.dcm" >/dev/null
      rm -f "$work/paper.safetensors"
      model="$work/paper.dcm" ;;
    *) echo "MODEL must be brain or paper" >&2; exit 2 ;;
  esac
}
