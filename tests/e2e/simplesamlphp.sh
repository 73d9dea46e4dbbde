#!/usr/bin/env bash
# Browser tests against a real SimpleSAMLphp IdP (Debian's simplesamlphp 1.19, served by `php -S` on
# loopback from a configuration directory written here), in Chromium (issue 27, item 11):
#  1. metadata from a file; SP-initiated login, SP-initiated and IdP-initiated Single Logout with
#     SimpleSAMLphp sending its LogoutResponse and LogoutRequest by HTTP-POST (POST logout used to
#     answer 404 and leave the user signed in);
#  2. metadata from an https URL; encrypted assertions (SimpleSAMLphp: rsa-oaep-mgf1p and
#     aes128-cbc); both logouts over HTTP-Redirect; then an IdP key rollover: SimpleSAMLphp
#     switches to a new key and publishes it, and the next login, signed with it, succeeds at once
#     (the unknown key triggers one metadata fetch);
#  3. HTTP-Artifact (issue 33): SimpleSAMLphp (saml20.sendartifact, a SQLite store) redirects back
#     with SAMLart, the app resolves it with a signed ArtifactResolve over SOAP.
# Usage: tests/e2e/simplesamlphp.sh <bin-dir> <example>. Called by tests/e2e/run.sh; skipped (with a
# message) when SimpleSAMLphp is not installed, and then fails under SAML_SP_REQUIRE_ORACLES=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$1; ex=$2
if [ ! -d /usr/share/simplesamlphp/www ] || ! command -v php >/dev/null 2>&1; then
  if [ "${SAML_SP_REQUIRE_ORACLES:-0}" = 1 ]; then
    echo "FAIL simplesamlphp: not installed (apt-get install simplesamlphp php-cli php-xml php-mbstring)" >&2; exit 1
  fi
  echo "skip simplesamlphp: not installed"; exit 0
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && break; sleep 0.1; done; }

# scenario <name> <slo binding: post|redirect> <encrypt: 0|1> <metadata: file|url> [artifact: 0|1]
scenario() {
  local name=$1 binding=$2 encrypt=$3 via=$4 artifact=${5:-0}
  local app_port idp_port app idp dir
  app_port=$(free_port); idp_port=$(free_port)
  app="http://127.0.0.1:$app_port"; idp="http://127.0.0.1:$idp_port"
  dir="$(pwd)/target/e2e/simplesamlphp-$name"
  rm -rf "$dir"; mkdir -p "$dir"/{cert,log,data,tmp,sessions,metadata,www}

  # The IdP's keys, made here: the one it starts with, and the one it rolls over to.
  for k in idp idp-next; do
    openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 30 -subj "/CN=simplesamlphp $k" \
      -keyout "$dir/cert/$k.key" -out "$dir/cert/$k.crt" 2>/dev/null
  done
  local salt; salt=$(openssl rand -hex 16)

  # Debian's configuration with its secrets file left out, then our overrides.
  grep -v "require_once('/var/lib/simplesamlphp/secrets.inc.php')" /etc/simplesamlphp/config.php > "$dir/config.php"
  cp /etc/simplesamlphp/acl.php "$dir/"
  cp -r /etc/simplesamlphp/attributemap "$dir/"
  cat >> "$dir/config.php" <<PHP
\$config['baseurlpath'] = '$idp/';
\$config['certdir'] = '$dir/cert/';
\$config['loggingdir'] = '$dir/log/';
\$config['logging.handler'] = 'file';
\$config['datadir'] = '$dir/data/';
\$config['tempdir'] = '$dir/tmp';
\$config['metadatadir'] = '$dir/metadata';
\$config['metadata.sources'] = [['type' => 'flatfile', 'directory' => '$dir/metadata']];
\$config['enable.saml20-idp'] = true;
\$config['module.enable'] = ['exampleauth' => true, 'core' => true, 'saml' => true];
\$config['store.type'] = '$( [ "$artifact" = 1 ] && echo sql || echo phpsession )';
\$config['store.sql.dsn'] = 'sqlite:$dir/data/store.sqlite';
\$config['session.phpsession.savepath'] = '$dir/sessions';
\$config['session.cookie.secure'] = false;
\$config['session.cookie.samesite'] = 'Lax';
\$config['trusted.url.domains'] = ['127.0.0.1:$app_port'];
\$config['secretsalt'] = '$salt';
\$config['auth.adminpassword'] = '$salt';
\$config['technicalcontact_email'] = 'test@example.com';
PHP
  cat > "$dir/authsources.php" <<'PHP'
<?php
$config = [
    'admin' => ['core:AdminPassword'],
    'users' => ['exampleauth:UserPass',
        'ada:secret' => ['mail' => ['ada@example.com'], 'givenName' => ['Ada'], 'sn' => ['Lovelace']],
    ],
];
PHP
  idp_hosted() {
    cat > "$dir/metadata/saml20-idp-hosted.php" <<PHP
<?php
\$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => '$dir/cert/$1.key',
    'certificate' => '$dir/cert/$1.crt',
    'auth' => 'users',
    'sign.logout' => true,
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'saml20.sendartifact' => $( [ "$artifact" = 1 ] && echo true || echo false ),
];
PHP
  }
  idp_hosted idp
  local sp_cert slo_binding
  sp_cert=$(grep -v -- '-----' tests/fixtures/keys/sp.crt | tr -d '\n')
  if [ "$binding" = post ]; then slo_binding=HTTP-POST; else slo_binding=HTTP-Redirect; fi
  cat > "$dir/metadata/saml20-sp-remote.php" <<PHP
<?php
\$metadata['$app/saml/metadata'] = [
    'AssertionConsumerService' => [[
        'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
        'Location' => '$app/saml/acs', 'index' => 0,
    ], [
        'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact',
        'Location' => '$app/saml/acs', 'index' => 1,
    ]],
    // One binding only, so SimpleSAMLphp must use it for both logout messages.
    'SingleLogoutService' => [[
        'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:$slo_binding',
        'Location' => '$app/saml/slo',
    ]],
    'certData' => '$sp_cert',
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    'simplesaml.nameidattribute' => 'mail',
    'sign.logout' => true,
    'validate.logout' => true,
    'assertion.encryption' => $( [ "$encrypt" = 1 ] && echo true || echo false ),
];
PHP

  # No opcache: the configuration files change under the running server (the key rollover).
  SIMPLESAMLPHP_CONFIG_DIR="$dir" php -d opcache.enable=0 -S "127.0.0.1:$idp_port" -t /usr/share/simplesamlphp/www \
    > "$dir/php-server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "$idp/saml2/idp/metadata.php" > "$dir/www/idp.xml" && break; sleep 0.1; done
  grep -q "SingleLogoutService" "$dir/www/idp.xml" \
    || { echo "FAIL simplesamlphp $name: no IdP metadata" >&2; cat "$dir/www/idp.xml" "$dir/php-server.log" >&2; exit 1; }

  local env=(PORT="$app_port" SAML_SP_KEY=tests/fixtures/keys/sp.key SAML_SP_CERT=tests/fixtures/keys/sp.crt)
  if [ "$via" = url ]; then
    # SimpleSAMLphp's metadata, published over https by openssl with a certificate from a CA
    # made here (tests/e2e/run.sh made target/e2e/tls); the app trusts that CA.
    local md_port; md_port=$(free_port)
    (cd "$dir/www" && exec openssl s_server -WWW -quiet -accept "$md_port" \
      -cert ../../tls/srv.pem -key ../../tls/srv.key) > "$dir/metadata-server.log" 2>&1 &
    pids+=($!)
    wait_port "$md_port"
    env+=(SAML_IDP_METADATA_URL="https://127.0.0.1:$md_port/idp.xml" SAML_IDP_METADATA_CA=target/e2e/tls/ca.pem
      SAML_DANGEROUS_ALLOW_PRIVATE_METADATA_URL=1)
  else
    env+=(SAML_IDP_METADATA="$dir/www/idp.xml")
  fi
  [ "$artifact" = 1 ] && env+=(SAML_IDP_ARTIFACT=1)
  env "${env[@]}" RUST_LOG=info "$bin/examples/$ex" > "target/e2e/$ex-simplesamlphp-$name.log" 2>&1 &
  pids+=($!)
  wait_port "$app_port"
  local fail_logs="tail -30 target/e2e/$ex-simplesamlphp-$name.log $dir/log/* $dir/php-server.log >&2"
  if [ "$artifact" = 1 ]; then
    # HTTP-Artifact: SimpleSAMLphp redirects back with SAMLart; the app resolves it over SOAP
    # with a signed ArtifactResolve at SimpleSAMLphp's ArtifactResolutionService.
    grep -q "ArtifactResolutionService" "$dir/www/idp.xml" \
      || { echo "FAIL simplesamlphp $name: no ArtifactResolutionService in the metadata" >&2; exit 1; }
    IDP_BASE="$idp" ARTIFACT=1 node tests/e2e/login.mjs "$app" simplesamlphp-login \
      "target/e2e/$ex-simplesamlphp-$name.png" || { eval "$fail_logs"; exit 1; }
    grep -q "\[200\]: POST /saml2/idp/ArtifactResolutionService.php" "$dir/php-server.log" \
      || { echo "FAIL simplesamlphp $name: SimpleSAMLphp answered no ArtifactResolve" >&2; eval "$fail_logs"; exit 1; }
    echo "ok $ex signs in by HTTP-Artifact against SimpleSAMLphp (ArtifactResolve over SOAP), and a replayed artifact is refused"
    return 0
  fi
  IDP_BASE="$idp" SLO_BINDING="$binding" ENCRYPTED="$encrypt" node tests/e2e/login.mjs "$app" simplesamlphp \
    "target/e2e/$ex-simplesamlphp-$name.png" || { eval "$fail_logs"; exit 1; }
  echo "ok $ex against SimpleSAMLphp ($name): login, SP- and IdP-initiated Single Logout over $binding"

  if [ "$via" = url ]; then
    # Key rollover: SimpleSAMLphp signs with its next key from now on and publishes it. The app
    # has not fetched the metadata since it started (its schedule is hours away); the first
    # login signed with the new key makes it fetch once, at once, and succeeds.
    idp_hosted idp-next
    curl -sf "$idp/saml2/idp/metadata.php" > "$dir/www/idp.xml.new" && mv "$dir/www/idp.xml.new" "$dir/www/idp.xml"
    grep -q "$(sed -n 2p "$dir/cert/idp-next.crt" | cut -c1-40)" "$dir/www/idp.xml" \
      || { echo "FAIL simplesamlphp $name: the new key is not in the metadata" >&2; exit 1; }
    IDP_BASE="$idp" ENCRYPTED="$encrypt" node tests/e2e/login.mjs "$app" simplesamlphp-login \
      || { eval "$fail_logs"; exit 1; }
    grep -q "unknown_key_fetch" "target/e2e/$ex-simplesamlphp-$name.log" \
      || { echo "FAIL simplesamlphp $name: no immediate metadata fetch logged" >&2; eval "$fail_logs"; exit 1; }
    echo "ok $ex follows a SimpleSAMLphp key rollover through its metadata URL at the first login"
  fi
}

scenario post-file post 0 file
scenario redirect-url-encrypted redirect 1 url
scenario artifact post 0 file 1
