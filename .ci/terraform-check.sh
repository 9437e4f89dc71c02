#!/usr/bin/env bash
# Static checks of infra/terraform (`make terraform-check`, run by `make test`):
#   1. `tofu fmt -check -recursive` (or `terraform fmt`), when a binary is at hand or OpenTofu can be built from
#      the Go module proxy within a bounded time; otherwise a clear notice and the checks go on without it.
#   2. checkov, pinned, in its own virtualenv (its dependencies conflict with the project's lock): 0 failed checks
#      are allowed, and every skip is justified inline in the .tf files.
# Nothing here needs AWS credentials or provider downloads (`validate`/`plan` would, so they are not run).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION="3.3.30"
TOFU_VERSION="v1.12.6"
TF_DIR="infra/terraform"
TOOLS_VENV="${FXTRUE_TOOLS_VENV:-$HOME/.cache/fxtrue/checkov-venv}"
BIN_DIR="${FXTRUE_TOOLS_BIN:-$HOME/.cache/fxtrue/bin}"
# A cold build takes ~30 min on 2 cores (measured: 1012 s of build after downloads), too long for every CI run,
# so it is opt-in: FXTRUE_BUILD_TOFU=1. A timed-out build is not lost (the Go build cache keeps the compiled
# packages), so later runs resume it.
TOFU_BUILD_TIMEOUT_S="${FXTRUE_TOFU_BUILD_TIMEOUT_S:-600}"
status=0

# ---------------------------------------------------------------------------------------------------------------
# 1. formatting

build_tofu() {
  # `go install github.com/opentofu/opentofu/cmd/tofu@VERSION` is refused (the module's go.mod has replace
  # directives), so the module source is fetched from the Go module proxy and built in place.
  command -v go >/dev/null 2>&1 || { echo "terraform-check: no Go toolchain, cannot build OpenTofu"; return 1; }
  local dir work start
  start=$(date +%s)
  echo "terraform-check: building OpenTofu ${TOFU_VERSION} from the Go module proxy (at most ${TOFU_BUILD_TIMEOUT_S}s)"
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@${TOFU_VERSION}" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [ -n "$dir" ] || return 1
  work=$(mktemp -d)
  cp -r "$dir/." "$work/" && chmod -R u+w "$work"
  mkdir -p "$BIN_DIR"
  if (cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod timeout "$TOFU_BUILD_TIMEOUT_S" \
        go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/tofu-${TOFU_VERSION}.partial" ./cmd/tofu); then
    mv "$BIN_DIR/tofu-${TOFU_VERSION}.partial" "$BIN_DIR/tofu-${TOFU_VERSION}"
    echo "terraform-check: OpenTofu built in $(( $(date +%s) - start ))s, cached at $BIN_DIR/tofu-${TOFU_VERSION}"
    rm -rf "$work"
    return 0
  fi
  rm -rf "$work" "$BIN_DIR/tofu-${TOFU_VERSION}.partial"
  echo "terraform-check: OpenTofu build failed or timed out after $(( $(date +%s) - start ))s"
  return 1
}

fmt_bin=""
if [ -x "$BIN_DIR/tofu-${TOFU_VERSION}" ]; then
  fmt_bin="$BIN_DIR/tofu-${TOFU_VERSION}"
elif command -v tofu >/dev/null 2>&1; then
  fmt_bin=$(command -v tofu)
elif command -v terraform >/dev/null 2>&1; then
  fmt_bin=$(command -v terraform)
elif [ "${FXTRUE_BUILD_TOFU:-0}" = "1" ] && build_tofu; then
  fmt_bin="$BIN_DIR/tofu-${TOFU_VERSION}"
fi

if [ -n "$fmt_bin" ]; then
  # A CLI config variable pointing at a missing file only produces warnings: fmt needs no configuration.
  if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
  echo "terraform-check: $(basename "$fmt_bin") fmt -check -recursive $TF_DIR"
  if ! "$fmt_bin" fmt -check -recursive -diff "$TF_DIR"; then
    echo "terraform-check: FAILED: files above are not canonically formatted (run: $(basename "$fmt_bin") fmt -recursive $TF_DIR)"
    status=1
  fi
else
  echo "terraform-check: NOTICE: no tofu/terraform binary (build one with FXTRUE_BUILD_TOFU=1, ~30 min cold);"
  echo "terraform-check: formatting NOT checked, checkov only"
fi

# ---------------------------------------------------------------------------------------------------------------
# 2. checkov

if [ ! -x "$TOOLS_VENV/bin/python" ]; then
  python3 -m venv "$TOOLS_VENV"
fi
if [ "$("$TOOLS_VENV/bin/checkov" --version 2>/dev/null || true)" != "$CHECKOV_VERSION" ]; then
  "$TOOLS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --cache-dir "${PIP_CACHE_DIR:-$HOME/.cache/pip}" "checkov==${CHECKOV_VERSION}"
fi

report=$(mktemp)
trap 'rm -f "$report"' EXIT
set +e
BC_SKIP_MAPPING=TRUE "$TOOLS_VENV/bin/checkov" -d "$TF_DIR" --framework terraform --quiet --compact \
  --download-external-modules false --skip-download > "$report" 2>&1
checkov_rc=$?
set -e
grep -v -e '^[[:space:]]*$' -e '^terraform scan results:$' "$report" | grep -v 'Passed checks:' || true
summary=$(grep -m1 -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$report" || true)
if [ -z "$summary" ]; then
  echo "terraform-check: FAILED: checkov produced no summary (exit $checkov_rc)"
  status=1
else
  echo "checkov: $summary"
  failed=$(sed -n 's/.*Failed checks: \([0-9]*\).*/\1/p' <<<"$summary")
  if [ "$checkov_rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
    echo "terraform-check: FAILED: checkov reports $failed failed check(s)"
    status=1
  fi
fi

exit "$status"
