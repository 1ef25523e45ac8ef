#!/usr/bin/env bash
# install.sh — the one place that installs what trainctl needs to build, run
# its main job and run its tests.  Both README commands call it.  Idempotent:
# it installs only what is missing, so a warm machine pays nothing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libyaml-dev libjansson-dev libsqlite3-dev libpcre2-dev libssl-dev
  libcmocka-dev sqlite3 libcurl4-openssl-dev
  libopenblas-dev zlib1g-dev dataset-fashion-mnist
  libtiff-dev   # examples/geo-pipeline's stage programs
  clang libclang-rt-14-dev
  python3 python3-venv procps time
  curl openssl jq iproute2 util-linux bc
  man-db groff-base zsh tmux
  chromium fonts-dejavu-core   # the HTML report's test opens it headless
)
if [ "${1:-}" = "--tests" ]; then
  # PyTorch from Debian (1.13, CPU, with gloo) for the DDP contract test
  # (tests/e2e/test_ddp_torch.sh), run with /usr/bin/python3.  Not the PyPI
  # wheel: it pulls several GB of CUDA libraries.  The product never uses it.
  # tests/k8s/kubelet.sh: a real kubelet node runs containers with Debian's
  # containerd and runc, from a busybox image built locally.
  PKGS+=(python3-torch libopenblas0-pthread containerd runc busybox-static)
  # The Kubernetes and S3 tests build their servers from Go modules
  # (tests/k8s/cluster.sh, tests/s3/seaweed.sh).  Where no Go is on PATH,
  # Debian's go is enough to start: it fetches the toolchain that the
  # wrapper modules' go.mod names (GOTOOLCHAIN=auto) as a module.
  command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || PKGS+=(golang-go)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --tests: what only the tests need.  MLflow's tracking server, for the
# export test, in a virtualenv of its own kept in the user's cache (about
# 850 MB, a few minutes the first time; nothing the next).
if [ "${1:-}" = "--tests" ]; then
  MLFLOW_VERSION=3.17.2
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-mlflow"
  if ! "$venv/bin/mlflow" --version 2>/dev/null | grep -q "$MLFLOW_VERSION"; then
    echo "install.sh: installing mlflow $MLFLOW_VERSION into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >/dev/null
  fi
  # Optuna in the same virtualenv: bench/suggest_cost.sh times its TPE
  # sampler against trainctl's
  OPTUNA_VERSION=5.0.0
  if ! "$venv/bin/python" -c "import optuna, sys; sys.exit(optuna.__version__ != '$OPTUNA_VERSION')" 2>/dev/null; then
    echo "install.sh: installing optuna $OPTUNA_VERSION into $venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "optuna==$OPTUNA_VERSION" >/dev/null
  fi
fi
