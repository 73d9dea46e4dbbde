#!/usr/bin/env bash
# Fuzz saml-sp's targets with libFuzzer through cargo-fuzz on the stable toolchain.
#   fuzz/run.sh SECONDS [TARGET...]      (default: every target, one after the other)
# New inputs go to fuzz/work/<target> (not committed); the committed seeds in fuzz/corpus and the
# interop responses are read as extra corpora. Crashes land in fuzz/artifacts/<target>.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xml_parse c14n validate_response validate_resigned redirect_decode metadata cli_input)
extra_for() {
  case "$1" in
    validate_response|c14n|xml_parse|cli_input) echo "../tests/fixtures/signed ../tests/fixtures/interop/responses" ;;
    metadata) echo "../tests/fixtures/interop/metadata" ;;
    *) echo "" ;;
  esac
}
for t in "${targets[@]}"; do
  mkdir -p "work/$t"
  extra=()
  for d in $(extra_for "$t"); do [ -d "$d" ] && extra+=("$d"); done
  echo "fuzz/run.sh: $t for ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "work/$t" "corpus/$t" "${extra[@]}" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1
done
