#!/usr/bin/env bash
# download-models.sh — fetch Apple's MobileCLIP checkpoints into model folders
# that `mobileclip ... --model <dir>/mobileclip_s0` can load directly.
#
# Each model gets its own folder:
#   <dir>/mobileclip_s0/mobileclip_s0.pt             Apple's checkpoint, unchanged
#   <dir>/mobileclip_s0/config.json                  our configs/mobileclip_s0.json
#   <dir>/mobileclip_s0/bpe_simple_vocab_16e6.txt.gz the CLIP BPE vocabulary
#   <dir>/mobileclip_s0/SHA256SUMS                   what was downloaded
#
# Downloads resume: an interrupted transfer stays in <file>.part and the next
# run continues it.  Apple publishes no checksums for the checkpoints, so their
# SHA-256 is printed (and recorded) for you to compare or pin; the vocabulary's
# is known and verified.
set -euo pipefail

readonly APPLE_BASE_URL="https://docs-assets.developer.apple.com/ml-research/datasets/mobileclip"
# open_clip's vocabulary at a fixed commit, and its known SHA-256
readonly VOCAB_NAME="bpe_simple_vocab_16e6.txt.gz"
readonly VOCAB_URL="https://raw.githubusercontent.com/mlfoundations/open_clip/89fb801f1e6087880e951fc8354b8a2077b79c6d/src/open_clip/${VOCAB_NAME}"
readonly VOCAB_SHA256="924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<EOF
Usage: $(basename "$0") [options] [MODEL...] [TARGET_DIR]

Downloads Apple's MobileCLIP checkpoints and lays each out as a model folder
TARGET_DIR/mobileclip_<model>/ (TARGET_DIR defaults to ./models).

Models: s0 s1 s2 b blt, or all (default: s0).  b and blt share one
architecture (blt was trained with LTT); the engine needs a config for it.

Options:
  -d, --dir DIR       target directory (same as the TARGET_DIR argument)
  --config-dir DIR    where to find mobileclip_<model>.json (default: search
                      \$MOBILECLIP_CONFIG_DIR, this source tree's configs/,
                      then the installed share/mobileclip/configs)
  --no-vocab          do not put the BPE vocabulary in the model folders
  --force             download again even if a checkpoint is already there
  -h, --help          this text
EOF
}

die() {
  echo "error: $*" >&2
  exit 1
}

warn() {
  echo "warning: $*" >&2
  warnings=$((warnings + 1))
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "neither sha256sum nor shasum is installed"
  fi
}

# fetch URL DEST: resumable download through DEST.part, renamed when complete
fetch() {
  local url=$1 dest=$2 part="$2.part"
  echo "downloading $url" >&2
  if command -v curl >/dev/null 2>&1; then
    # -C - continues a partial .part file; --fail keeps HTTP errors out of it
    curl --fail --location --retry 3 --continue-at - --output "$part" "$url" \
      || die "download failed: $url (rerun to resume)"
  elif command -v wget >/dev/null 2>&1; then
    wget --continue --tries=3 --output-document="$part" "$url" \
      || die "download failed: $url (rerun to resume)"
  else
    die "neither curl nor wget is installed"
  fi
  mv -f "$part" "$dest"
}

# A torch zip checkpoint starts with a zip local header; anything else is
# most likely an HTML error page saved by a proxy.
is_zip() {
  [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = "504b0304" ]
}

find_config() {
  local name=$1 dir
  local -a dirs=()
  if [ -n "$config_dir" ]; then
    dirs+=("$config_dir")
  else
    if [ -n "${MOBILECLIP_CONFIG_DIR:-}" ]; then
      dirs+=("$MOBILECLIP_CONFIG_DIR")
    fi
    dirs+=("$script_dir/../configs" "/usr/local/share/mobileclip/configs" "/usr/share/mobileclip/configs")
  fi
  for dir in "${dirs[@]}"; do
    if [ -f "$dir/$name" ]; then
      echo "$dir/$name"
      return 0
    fi
  done
  return 1
}

# The vocabulary, downloaded once into the target directory and verified.
get_vocab() {
  local dest="$target/$VOCAB_NAME" sum
  if [ ! -f "$dest" ]; then
    fetch "$VOCAB_URL" "$dest"
  fi
  sum=$(sha256_of "$dest")
  if [ "$sum" != "$VOCAB_SHA256" ]; then
    rm -f "$dest"
    die "$VOCAB_NAME has SHA-256 $sum, expected $VOCAB_SHA256 (removed; rerun)"
  fi
  echo "$dest"
}

models=()
target=""
config_dir=""
with_vocab=1
force=0
warnings=0

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -d|--dir) [ $# -ge 2 ] || die "$1 needs a directory"; target=$2; shift ;;
    --dir=*) target=${1#--dir=} ;;
    --config-dir) [ $# -ge 2 ] || die "$1 needs a directory"; config_dir=$2; shift ;;
    --config-dir=*) config_dir=${1#--config-dir=} ;;
    --no-vocab) with_vocab=0 ;;
    --force) force=1 ;;
    s0|s1|s2|b|blt) models+=("$1") ;;
    all) models+=(s0 s1 s2 b blt) ;;
    -*) usage >&2; die "unknown option $1" ;;
    *)
      [ -z "$target" ] || die "unknown model '$1' (models: s0 s1 s2 b blt all; target already '$target')"
      target=$1
      ;;
  esac
  shift
done
[ ${#models[@]} -gt 0 ] || models=(s0)
[ -n "$target" ] || target=./models
mkdir -p "$target"

vocab=""
if [ "$with_vocab" = 1 ]; then
  vocab=$(get_vocab)
fi

for model in "${models[@]}"; do
  name="mobileclip_$model"
  dir="$target/$name"
  ckpt="$dir/$name.pt"
  mkdir -p "$dir"

  if [ -f "$ckpt" ] && [ "$force" = 0 ]; then
    echo "$ckpt already present (use --force to download again)" >&2
  else
    rm -f "$ckpt"
    fetch "$APPLE_BASE_URL/$name.pt" "$ckpt"
  fi
  if ! is_zip "$ckpt"; then
    mv -f "$ckpt" "$ckpt.bad"
    die "$ckpt is not a torch zip checkpoint (kept as $ckpt.bad)"
  fi
  sum=$(sha256_of "$ckpt")
  printf '%s  %s\n' "$sum" "$name.pt" > "$dir/SHA256SUMS"
  echo "sha256 $sum  $ckpt"

  # b and blt are one architecture
  config_name="$name.json"
  [ "$model" != blt ] || config_name="mobileclip_b.json"
  if config=$(find_config "$config_name"); then
    cp -f "$config" "$dir/config.json"
  else
    warn "no $config_name found; $dir has no config.json (pass --config-dir, or use --config when running)"
  fi

  if [ -n "$vocab" ]; then
    cp -f "$vocab" "$dir/$VOCAB_NAME"
  fi
  echo "ready: $dir"
done

if [ "$warnings" -gt 0 ]; then
  echo "done with $warnings warning(s)" >&2
fi
