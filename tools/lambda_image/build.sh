#!/usr/bin/env bash
# The image `sam local` runs our functions in: public.ecr.aws/lambda/python:3.11-arm64 (the tag
# SAM asks for with Runtime python3.11 and Architectures [arm64]). In order:
#   1. reuse it if Docker has it: AWS's image, or our stand-in built from this same recipe;
#   2. pull it (bounded by PULL_TIMEOUT): a machine that reaches public.ecr.aws uses AWS's image;
#   3. otherwise build a stand-in, once: debootstrap an arm64 Debian bookworm (python3 3.11),
#      add awslambdaric and the boto3 uv.lock pins (what the Lambda runtime provides), and
#      `docker build` it FROM scratch for linux/arm64.
# arm64 runs on an x86_64 host under qemu-user-static, registered in binfmt_misc with the F flag
# (the kernel keeps the interpreter open, so it also works inside containers and chroots).
#
# Usage: tools/lambda_image/build.sh --requirements FILE [--rebuild] [--no-pull]
#   FILE: boto3 and its dependencies pinned (make's .tools/smoke-venv/requirements.txt).
# Env: DOCKER (docker client, default `docker`), PULL_TIMEOUT (30 s), DEBIAN_MIRROR,
#      LAMBDA_IMAGE_WORK (scratch directory, default .tools/lambda-image; emptied after a build).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
IMAGE=public.ecr.aws/lambda/python:3.11-arm64
AWSLAMBDARIC=awslambdaric==4.2.2
RECIPE_VERSION=1  # bump when the steps below change what ends up in the image
LABEL=sam-refresh-auth.stand-in.recipe
DOCKER=${DOCKER:-docker}
PULL_TIMEOUT=${PULL_TIMEOUT:-30}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=${LAMBDA_IMAGE_WORK:-$root/.tools/lambda-image}
UV="$root/.tools/uv/bin/uv"

requirements="" rebuild=0 pull=1
while (($#)); do
    case $1 in
        --requirements) requirements=$2; shift 2 ;;
        --rebuild) rebuild=1; shift ;;
        --no-pull) pull=0; shift ;;
        *) echo "usage: $0 --requirements FILE [--rebuild] [--no-pull]" >&2; exit 2 ;;
    esac
done
[[ -s $requirements ]] || { echo "lambda image: --requirements FILE (boto3 pins) is missing" >&2; exit 2; }

say() { printf 'lambda image: %s\n' "$*"; }
die() { printf 'lambda image: %s\n' "$*" >&2; exit 1; }

# qemu-aarch64 in binfmt_misc with the F flag; registers it when we may (root, binfmt-support).
ensure_arm64_emulation() {
    # Native arm64, or not Linux: Docker Desktop's VM brings its own emulation.
    [[ $(uname -m) == aarch64 || $(uname -m) == arm64 || $(uname -s) != Linux ]] && return 0
    local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
    if [[ ! -e $entry && $EUID -eq 0 ]]; then
        [[ -e /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
        command -v update-binfmts >/dev/null && update-binfmts --enable qemu-aarch64 || true
    fi
    [[ -e $entry ]] && grep -qx enabled "$entry" && grep -q '^flags:.*F' "$entry" ||
        die "arm64 emulation missing: apt-get install qemu-user-static binfmt-support (as root; see docs/local-dev.md)"
}

# What the stand-in is built from: a change to any of these builds it again.
recipe() {
    { cat "$here/Dockerfile" "$here/bootstrap" "$requirements"; echo "$RECIPE_VERSION $AWSLAMBDARIC $MIRROR"; } |
        sha256sum | cut -c1-16
}

# "aws" (AWS's image), "stand-in:<recipe>", or "" (absent).
present() {
    local label
    label=$("$DOCKER" image inspect "$IMAGE" --format "{{index .Config.Labels \"$LABEL\"}}" 2>/dev/null) || return 0
    if [[ -z $label || $label == "<no value>" ]]; then echo aws; else echo "stand-in:$label"; fi
}

build_stand_in() {
    local started=$SECONDS rootfs="$WORK/context/rootfs" version
    [[ $EUID -eq 0 ]] || die "building the stand-in needs root (debootstrap, chroot): sudo $0 --requirements $requirements"
    command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install debootstrap"
    rm -rf "$WORK"; mkdir -p "$WORK/context/runtime"
    say "1/4 debootstrap arm64 bookworm, first stage (downloads from $MIRROR)"
    debootstrap --variant=minbase --arch=arm64 --foreign --include=python3,ca-certificates \
        bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log: $WORK/debootstrap.log)"; }
    say "2/4 second stage: the arm64 package scripts run under qemu (a few minutes)"
    chroot "$rootfs" /debootstrap/debootstrap --second-stage >>"$WORK/debootstrap.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap second stage failed (log: $WORK/debootstrap.log)"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    mkdir -p "$rootfs/var/task" "$rootfs/opt"
    say "3/4 awslambdaric + boto3 (uv.lock's pins) as manylinux2014 aarch64 wheels -> /var/runtime"
    "$UV" pip install --quiet --target "$WORK/context/runtime" --python-platform aarch64-manylinux2014 \
        --python-version 3.11 --only-binary :all: "$AWSLAMBDARIC" -r "$requirements"
    cp "$here/Dockerfile" "$here/bootstrap" "$WORK/context/"
    # /dev, /proc and /sys are Docker's at run time; the tarball keeps owners, modes and links.
    tar --numeric-owner --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
        -C "$rootfs" -cf "$WORK/context/rootfs.tar" .
    rm -rf "$rootfs"
    say "4/4 docker build --platform linux/arm64 -> $IMAGE"
    DOCKER_BUILDKIT=1 "$DOCKER" build --quiet --platform linux/arm64 --build-arg "RECIPE=$(recipe)" \
        -t "$IMAGE" "$WORK/context" >/dev/null
    rm -rf "$WORK"
    # The bootstrap's PYTHONPATH: the runtime's packages, as the functions see them.
    version=$("$DOCKER" run --rm --platform linux/arm64 -e PYTHONPATH=/var/runtime --entrypoint /usr/bin/python3 "$IMAGE" -c \
        'import platform, sys, boto3, awslambdaric; print(platform.machine(), sys.version.split()[0], "boto3", boto3.__version__)')
    [[ $version == "aarch64 3.11."* ]] || die "the image's python is '$version', not aarch64 3.11"
    say "built in $((SECONDS - started)) s: $version, $("$DOCKER" image inspect "$IMAGE" --format '{{.Architecture}} {{.Size}}') bytes"
}

ensure_arm64_emulation
have=$(present)
want="stand-in:$(recipe)"
if ((rebuild)); then
    have=""
    "$DOCKER" rmi "$IMAGE" >/dev/null 2>&1 || true
fi
case $have in
    aws) say "using AWS's $IMAGE (present)"; exit 0 ;;
    "$want") say "using the stand-in $IMAGE (built from this recipe, $want)"; exit 0 ;;
    stand-in:*) say "the stand-in was built from another recipe ($have): building it again" ;;
esac
if ((pull)) && [[ -z $have ]] && timeout "$PULL_TIMEOUT" "$DOCKER" pull --quiet "$IMAGE" >/dev/null 2>&1; then
    say "pulled AWS's $IMAGE"
    exit 0
fi
((pull)) && [[ -z $have ]] && say "docker pull $IMAGE failed (or took over ${PULL_TIMEOUT} s): building the stand-in"
build_stand_in
