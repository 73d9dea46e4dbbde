#!/usr/bin/env bash
# Browser test against a real SimpleSAMLphp IdP (Debian's simplesamlphp 1.19, served by `php -S` on
# loopback): SP-initiated login, SP-initiated Single Logout, and IdP-initiated Single Logout with
# SimpleSAMLphp sending its LogoutRequest and LogoutResponse over the HTTP-POST binding (issue 27,
# item 11: POST logout used to answer 404 and leave the user signed in).
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
app_port=$(free_port); idp_port=$(free_port)
app="http://127.0.0.1:$app_port"; idp="http://127.0.0.1:$idp_port"
dir="$(pwd)/target/e2e/simplesamlphp-$idp_port"
rm -rf "$dir"; mkdir -p "$dir"/{cert,log,data,tmp,sessions,metadata}

# The IdP's own key and certificate, made here.
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 30 -subj "/CN=simplesamlphp test idp" \
  -keyout "$dir/cert/idp.key" -out "$dir/cert/idp.crt" 2>/dev/null
salt=$(openssl rand -hex 16)

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
\$config['store.type'] = 'phpsession';
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
cat > "$dir/metadata/saml20-idp-hosted.php" <<PHP
<?php
\$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => '$dir/cert/idp.key',
    'certificate' => '$dir/cert/idp.crt',
    'auth' => 'users',
    'sign.logout' => true,
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
];
PHP
sp_cert=$(grep -v -- '-----' tests/fixtures/keys/sp.crt | tr -d '\n')
cat > "$dir/metadata/saml20-sp-remote.php" <<PHP
<?php
\$metadata['$app/saml/metadata'] = [
    'AssertionConsumerService' => [[
        'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
        'Location' => '$app/saml/acs', 'index' => 0,
    ]],
    // POST only: SimpleSAMLphp must send its LogoutRequest and LogoutResponse by HTTP-POST.
    'SingleLogoutService' => [[
        'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
        'Location' => '$app/saml/slo',
    ]],
    'certData' => '$sp_cert',
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    'simplesaml.nameidattribute' => 'mail',
    'sign.logout' => true,
    'validate.logout' => true,
];
PHP

SIMPLESAMLPHP_CONFIG_DIR="$dir" php -S "127.0.0.1:$idp_port" -t /usr/share/simplesamlphp/www \
  > "$dir/php-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "$idp/saml2/idp/metadata.php" > "$dir/idp-metadata.xml" && break; sleep 0.1; done
grep -q "SingleLogoutService" "$dir/idp-metadata.xml" \
  || { echo "FAIL simplesamlphp: no IdP metadata" >&2; cat "$dir/idp-metadata.xml" "$dir/php-server.log" >&2; exit 1; }

PORT=$app_port SAML_IDP_METADATA="$dir/idp-metadata.xml" SAML_SP_KEY=tests/fixtures/keys/sp.key \
  SAML_SP_CERT=tests/fixtures/keys/sp.crt "$bin/examples/$ex" > "target/e2e/$ex-simplesamlphp.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break; sleep 0.1; done
IDP_BASE="$idp" node tests/e2e/login.mjs "$app" simplesamlphp "target/e2e/$ex-simplesamlphp-signed-in.png" \
  || { echo "--- app log" >&2; tail -30 "target/e2e/$ex-simplesamlphp.log" >&2; echo "--- SimpleSAMLphp log" >&2; tail -30 "$dir/log/"* "$dir/php-server.log" >&2 || true; exit 1; }
echo "ok $ex against SimpleSAMLphp: login, SP-initiated and IdP-initiated (POST) Single Logout"
