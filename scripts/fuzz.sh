#!/usr/bin/env bash
# Fuzzes the firmware's own C code on the host with libFuzzer (docs/fuzzing.md).
#
#   bash scripts/fuzz.sh TARGET [libFuzzer arguments]      TARGET: engine, link, training or mlperf
#   bash scripts/fuzz.sh engine -runs=0 DIR                 run every file in DIR once
#   bash scripts/fuzz.sh engine -max_total_time=3600 -jobs=1
#
# Builds build/fuzz/TARGET with clang (-fsanitize=fuzzer,address,undefined; any undefined
# behaviour aborts, so it counts as a crash) and runs it. Without a corpus directory (or file) among the arguments it fuzzes
# build/fuzz/corpus/TARGET (new inputs go there) from the seed corpus build/fuzz/seeds/TARGET,
# generated from the shared models on first use (engine: also engine_large, the models over
# 64 KiB, which the seed test runs but the fuzzer does not mutate). Exit status
# is libFuzzer's: non-zero on a crash, with the reproducer in build/fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
TARGETS="engine link training mlperf"
target=${1:-}
if [[ -z "$target" || " $TARGETS " != *" $target "* ]]; then
    echo "usage: scripts/fuzz.sh {engine|link|training|mlperf} [libFuzzer arguments]" >&2
    exit 2
fi
shift

CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char*d,long n){return 0;}' |
        "$CLANG" -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    echo "fuzz.sh: installing clang and the libFuzzer runtime (apt)" >&2
    SUDO=$([[ $(id -u) -eq 0 ]] && echo "" || echo sudo)
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >&2
fi

BUILD=$REPO/build/fuzz
FW=$REPO/firmware/src
SDK=$REPO/firmware/sdk
mkdir -p "$BUILD/seeds" "$BUILD/corpus/$target" "$BUILD/artifacts/$target"
case $target in
    engine) sources=("$FW"/engine/engine.c "$FW"/engine/ops.c "$FW"/kernels/*.c "$SDK"/src/hil_crc32.c) ;;
    link) sources=("$SDK"/src/hil_crc32.c) ;;
    training) sources=("$FW"/kernels/*.c "$FW"/training/train_math.c) ;;
    mlperf) sources=() ;; # fuzz_mlperf.c includes the SDK's responder
esac
# The training arena of the training firmware (harness/training/device.py TRAINING_ARENA_BYTES).
"$CLANG" -std=c11 -g -O1 -fno-omit-frame-pointer -ffp-contract=off \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$FW" -I"$REPO/firmware/include" -I"$SDK/include" -DHIL_TRAINING_ARENA_BYTES=131072 \
    -o "$BUILD/$target" "$REPO/tests/fuzz/fuzz_$target.c" "$REPO/tests/fuzz/fuzz_stubs.c" "${sources[@]}"

# The seed corpus, generated from the shared models on first use (delete it to regenerate).
make_seeds() {
    if [[ ! -d "$BUILD/seeds/$1" ]]; then
        rm -rf "$BUILD/seeds/$1.tmp"
        python3 "$REPO/tests/fuzz/seeds.py" "$1" "$BUILD/seeds/$1.tmp"
        mv "$BUILD/seeds/$1.tmp" "$BUILD/seeds/$1"
    fi
}

args=("$@")
has_corpus=0
has_prefix=0
for arg in "${args[@]}"; do
    [[ "$arg" == -artifact_prefix=* ]] && has_prefix=1
    [[ "$arg" != -* ]] && has_corpus=1
done
[[ $has_prefix == 1 ]] || args=("-artifact_prefix=$BUILD/artifacts/$target/" "${args[@]}")
if [[ $has_corpus == 0 ]]; then
    make_seeds "$target"
    [[ $target == engine ]] && make_seeds engine_large # for the seed test; not mutated
    args+=("$BUILD/corpus/$target" "$BUILD/seeds/$target")
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$BUILD/$target" "${args[@]}"
