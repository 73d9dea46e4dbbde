#!/usr/bin/env bash
# Browser tests of the example apps: starts each example on a free loopback port, drives headless
# Chromium through the logins (tests/e2e/login.mjs), saves a screenshot of the signed-in page to
# target/e2e/. Called by scripts/test.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p target/e2e
# The binaries cargo built (CARGO_TARGET_DIR when the build directory is elsewhere).
bin="${CARGO_TARGET_DIR:-target}/debug"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
# start <example> <extra env...>: starts it and sets $base to its URL. Called directly, never in
# a command substitution: a $(...) subshell would keep the PID out of the cleanup list.
start() {
  local ex=$1; shift
  local port; port=$(free_port)
  env PORT="$port" "$@" "$bin/examples/$ex" > "target/e2e/$ex-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then base="http://127.0.0.1:$port"; return 0; fi
    sleep 0.1
  done
  echo "example $ex did not start" >&2; return 1
}
examples=(axum_sp hyper_sp actix_sp)
# --all-features, as scripts/test's cargo test: the same artifacts, nothing built twice.
cargo build --locked --all-features --bin saml-sp $(printf -- '--example %s ' "${examples[@]}") \
  --example minimal_axum --example minimal_actix
for ex in "${examples[@]}"; do
  # Any IdP setting present but unusable: the app refuses to start, never falls back to the test IdP.
  if PORT="$(free_port)" SAML_IDP_METADATA= timeout 20 "$bin/examples/$ex" > "target/e2e/$ex-misconfigured.log" 2>&1; then
    echo "FAIL $ex started with an empty SAML_IDP_METADATA" >&2; exit 1
  fi
  grep -q "refusing to fall back to the test IdP" "target/e2e/$ex-misconfigured.log" \
    || { echo "FAIL $ex: no reason given for refusing to start" >&2; cat "target/e2e/$ex-misconfigured.log" >&2; exit 1; }
  echo "ok $ex refuses to start with an empty SAML_IDP_METADATA"
  start "$ex"
  node tests/e2e/login.mjs "$base" sp-initiated "target/e2e/$ex-signed-in.png"
  node tests/e2e/login.mjs "$base" replay
  node tests/e2e/login.mjs "$base" idp-refused
  node tests/e2e/login.mjs "$base" big-response
  # Hardening pass 4: attacker pages on another site (login CSRF, logout CSRF, XSS via the test IdP).
  node tests/e2e/login.mjs "$base" login-csrf
  node tests/e2e/login.mjs "$base" logout-csrf
  node tests/e2e/login.mjs "$base" idp-xss
  # Metrics, health and logs of a fresh instance (its counts start at zero).
  start "$ex"
  APP_LOG="target/e2e/$ex-${base##*:}.log" node tests/e2e/login.mjs "$base" operations
  start "$ex" SAML_ALLOW_IDP_INITIATED=1
  node tests/e2e/login.mjs "$base" idp-allowed
  # Single Logout through the test IdP: SP-initiated, then IdP-initiated.
  node tests/e2e/login.mjs "$base" slo-sp
  node tests/e2e/login.mjs "$base" slo-idp
  # ...and through samlify (its SLO verifies our signed LogoutRequest against SP metadata).
  app_port=$(free_port); idp_port=$(free_port)
  $bin/saml-sp metadata --entity-id "http://127.0.0.1:$app_port/saml/metadata" \
    --acs-url "http://127.0.0.1:$app_port/saml/acs" --slo-url "http://127.0.0.1:$app_port/saml/slo" \
    --cert tests/fixtures/keys/sp.crt > "target/e2e/sp-$app_port.xml"
  node tests/interop_idp/server.js "$idp_port" "target/e2e/sp-$app_port.xml" tests/fixtures/keys/idp.key \
    tests/fixtures/keys/idp.crt "target/e2e/samlify-idp-$idp_port.xml" > "target/e2e/samlify-$idp_port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "target/e2e/samlify-idp-$idp_port.xml" ] && break; sleep 0.1; done
  PORT=$app_port SAML_IDP_METADATA="target/e2e/samlify-idp-$idp_port.xml" SAML_SP_KEY=tests/fixtures/keys/sp.key \
    SAML_SP_CERT=tests/fixtures/keys/sp.crt "$bin/examples/$ex" > "target/e2e/$ex-samlify-slo.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break; sleep 0.1; done
  node tests/e2e/login.mjs "http://127.0.0.1:$app_port" slo-third-party
  # The same SP-initiated login against samlify, a third-party IdP, running on loopback.
  app_port=$(free_port); idp_port=$(free_port)
  $bin/saml-sp metadata --entity-id "http://127.0.0.1:$app_port/saml/metadata" \
    --acs-url "http://127.0.0.1:$app_port/saml/acs" > "target/e2e/sp-$app_port.xml"
  node tests/interop_idp/server.js "$idp_port" "target/e2e/sp-$app_port.xml" tests/fixtures/keys/idp.key \
    tests/fixtures/keys/idp.crt "target/e2e/samlify-idp-$idp_port.xml" > "target/e2e/samlify-$idp_port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "target/e2e/samlify-idp-$idp_port.xml" ] && break; sleep 0.1; done
  PORT=$app_port SAML_IDP_METADATA="target/e2e/samlify-idp-$idp_port.xml" "$bin/examples/$ex" > "target/e2e/$ex-samlify.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break; sleep 0.1; done
  node tests/e2e/login.mjs "http://127.0.0.1:$app_port" third-party "target/e2e/$ex-samlify-signed-in.png"
  # samlify encrypting the Assertion (AES-128-GCM, then AES-256-CBC) to the certificate in the
  # app's SP metadata; the app holds the key (SAML_SP_KEY / SAML_SP_CERT).
  for enc in http://www.w3.org/2009/xmlenc11#aes128-gcm http://www.w3.org/2001/04/xmlenc#aes256-cbc; do
    app_port=$(free_port); idp_port=$(free_port)
    $bin/saml-sp metadata --entity-id "http://127.0.0.1:$app_port/saml/metadata" \
      --acs-url "http://127.0.0.1:$app_port/saml/acs" --encryption-cert tests/fixtures/keys/sp.crt > "target/e2e/sp-$app_port.xml"
    node tests/interop_idp/server.js "$idp_port" "target/e2e/sp-$app_port.xml" tests/fixtures/keys/idp.key \
      tests/fixtures/keys/idp.crt "target/e2e/samlify-idp-$idp_port.xml" "$enc" > "target/e2e/samlify-$idp_port.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do [ -s "target/e2e/samlify-idp-$idp_port.xml" ] && break; sleep 0.1; done
    PORT=$app_port SAML_IDP_METADATA="target/e2e/samlify-idp-$idp_port.xml" SAML_SP_KEY=tests/fixtures/keys/sp.key \
      SAML_SP_CERT=tests/fixtures/keys/sp.crt "$bin/examples/$ex" > "target/e2e/$ex-samlify-enc.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break; sleep 0.1; done
    node tests/e2e/login.mjs "http://127.0.0.1:$app_port" third-party-encrypted
  done
done
# Single Logout across two apps: the actix app (on "localhost", so the two apps' cookies stay
# apart) trusts the axum app's test IdP; signing out of the axum app ends the actix session too.
a_port=$(free_port); b_port=$(free_port)
PORT=$a_port SAML_TEST_IDP_LOGOUT_PEERS="http://localhost:$b_port/saml/slo" $bin/examples/axum_sp \
  > "target/e2e/axum_sp-two-apps.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$a_port") 2>/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$a_port/test-idp/metadata" > "target/e2e/test-idp-$a_port.xml"
PORT=$b_port SAML_SP_BASE_URL="http://localhost:$b_port" SAML_IDP_METADATA="target/e2e/test-idp-$a_port.xml" \
  $bin/examples/actix_sp > "target/e2e/actix_sp-two-apps.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$b_port") 2>/dev/null && break; sleep 0.1; done
SECOND_APP="http://localhost:$b_port" node tests/e2e/login.mjs "http://127.0.0.1:$a_port" slo-two-apps \
  "target/e2e/slo-two-apps.png"
# IdP metadata from an https URL (SAML_IDP_METADATA_URL): openssl serves samlify's metadata on
# loopback with a certificate from a CA made here; the app trusts that CA (SAML_IDP_METADATA_CA)
# and refuses the loopback URL unless SAML_DANGEROUS_ALLOW_PRIVATE_METADATA_URL=1.
tls=target/e2e/tls; mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 2 \
  -subj "/CN=saml-sp e2e CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$tls/srv.key" -out "$tls/srv.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" > "$tls/ext"
openssl x509 -req -in "$tls/srv.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
  -out "$tls/srv.pem" -days 2 -extfile "$tls/ext" 2>/dev/null
app_port=$(free_port); idp_port=$(free_port); md_port=$(free_port)
$bin/saml-sp metadata --entity-id "http://127.0.0.1:$app_port/saml/metadata" \
  --acs-url "http://127.0.0.1:$app_port/saml/acs" > "target/e2e/sp-$app_port.xml"
node tests/interop_idp/server.js "$idp_port" "target/e2e/sp-$app_port.xml" tests/fixtures/keys/idp.key \
  tests/fixtures/keys/idp.crt "target/e2e/samlify-idp-$idp_port.xml" > "target/e2e/samlify-$idp_port.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "target/e2e/samlify-idp-$idp_port.xml" ] && break; sleep 0.1; done
(cd target/e2e && exec openssl s_server -WWW -quiet -accept "$md_port" -cert tls/srv.pem -key tls/srv.key) \
  > "target/e2e/metadata-server-$md_port.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$md_port") 2>/dev/null && break; sleep 0.1; done
md_url="https://127.0.0.1:$md_port/samlify-idp-$idp_port.xml"
if PORT=$app_port SAML_IDP_METADATA_URL="$md_url" SAML_IDP_METADATA_CA="$tls/ca.pem" timeout 20 \
  $bin/examples/axum_sp > "target/e2e/axum_sp-metadata-url-refused.log" 2>&1; then
  echo "FAIL axum_sp fetched metadata from loopback without the dangerous setting" >&2; exit 1
fi
grep -q "MetadataUrlForbidden.*a loopback address" "target/e2e/axum_sp-metadata-url-refused.log" \
  || { echo "FAIL axum_sp: no SSRF refusal" >&2; cat "target/e2e/axum_sp-metadata-url-refused.log" >&2; exit 1; }
echo "ok axum_sp refuses a loopback metadata URL by default"
PORT=$app_port SAML_IDP_METADATA_URL="$md_url" SAML_IDP_METADATA_CA="$tls/ca.pem" \
  SAML_DANGEROUS_ALLOW_PRIVATE_METADATA_URL=1 $bin/examples/axum_sp > "target/e2e/axum_sp-metadata-url.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break; sleep 0.1; done
node tests/e2e/login.mjs "http://127.0.0.1:$app_port" third-party "target/e2e/axum_sp-metadata-url-signed-in.png"
echo "ok axum_sp signs in through metadata fetched from an https URL"
# The minimal apps (examples/minimal_axum.rs, minimal_actix.rs, on the web adapters) sign in
# through samlify.
for minimal in minimal_axum minimal_actix; do
  app_port=$(free_port); idp_port=$(free_port)
  $bin/saml-sp metadata --entity-id "http://127.0.0.1:$app_port/saml/metadata" \
    --acs-url "http://127.0.0.1:$app_port/saml/acs" > "target/e2e/sp-$app_port.xml"
  node tests/interop_idp/server.js "$idp_port" "target/e2e/sp-$app_port.xml" tests/fixtures/keys/idp.key \
    tests/fixtures/keys/idp.crt "target/e2e/samlify-idp-$idp_port.xml" > "target/e2e/samlify-$idp_port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "target/e2e/samlify-idp-$idp_port.xml" ] && break; sleep 0.1; done
  PORT=$app_port SAML_IDP_METADATA="target/e2e/samlify-idp-$idp_port.xml" "$bin/examples/$minimal" \
    > "target/e2e/$minimal.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break; sleep 0.1; done
  node tests/e2e/login.mjs "http://127.0.0.1:$app_port" minimal "target/e2e/$minimal-signed-in.png"
done

# SSO profiles in the axum demo: an organization administrator from no profile to SSO enforced,
# with samlify as the customer's IdP and a DNS server on loopback (both run by login.mjs).
# Its SQLite database by default; with the PostgreSQL server scripts/test runs, two instances
# share it and the user signs in on the second (profile, request, session all in the database).
app_port=$(free_port); idp_port=$(free_port); dns_port=$(free_port)
database_url=""
if [ -n "${SAML_SP_TEST_DATABASE_URL:-}" ]; then
  # A fresh database for this run: a rerun on the same server starts from no profile too.
  database_url=$(./scripts/postgres createdb "$SAML_SP_TEST_DATABASE_URL" "e2e_profiles_$$_$RANDOM")
fi
PORT=$app_port SAML_DNS_SERVER="127.0.0.1:$dns_port" DATABASE_URL="$database_url" \
  $bin/examples/axum_sp > "target/e2e/axum_sp-profiles.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break; sleep 0.1; done
second=""
if [ -n "$database_url" ]; then
  second_port=$(free_port)
  PORT=$second_port SAML_DNS_SERVER="127.0.0.1:$dns_port" DATABASE_URL="$database_url" \
    $bin/examples/axum_sp > "target/e2e/axum_sp-profiles-second.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$second_port") 2>/dev/null && break; sleep 0.1; done
  second="http://127.0.0.1:$second_port"
fi
SECOND_BASE=$second DNS_PORT=$dns_port SAMLIFY_PORT=$idp_port node tests/e2e/login.mjs "http://127.0.0.1:$app_port" profiles \
  "target/e2e/axum_sp-profiles-enforced.png" \
  || { tail -30 "target/e2e/axum_sp-profiles.log" >&2; exit 1; }

# A second real IdP: SimpleSAMLphp (login, SP- and IdP-initiated Single Logout over HTTP-POST).
tests/e2e/simplesamlphp.sh "$bin" axum_sp

# Every server this run started must be gone after cleanup (two runs once left twelve behind).
cleanup
trap - EXIT
left=()
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left+=("$p"); done
if [ ${#left[@]} -gt 0 ]; then
  echo "e2e: processes still running after cleanup: ${left[*]}" >&2
  exit 1
fi
echo "ok e2e: no server of this run left running (${#pids[@]} started)"
echo "e2e: all browser tests passed"
