# shellcheck shell=bash
# Object-storage servers on loopback for the upload tests and benches. Source it after scripts/lib/stack.sh:
#
#   storage_servers_start    S3 (versitygw), Azure Blob (Azurite) and GCS (fake-gcs-server), each on a free loopback
#                            port, data under .stack/<name>/data; exports their endpoints and credentials (below)
#   storage_servers_check    fails when a server binary is missing (scripts/setup installs them)
#
# They are stopped by stack_stop_all like every other stack_spawn'ed process.
#
# Exports:
#   EGRESS_TEST_S3_ENDPOINT  EGRESS_TEST_S3_ACCESS_KEY  EGRESS_TEST_S3_SECRET  EGRESS_TEST_S3_REGION
#   EGRESS_TEST_AZURE_ENDPOINT (blob service URL, account in the path)  EGRESS_TEST_AZURE_ACCOUNT  EGRESS_TEST_AZURE_KEY
#   EGRESS_TEST_GCS_ENDPOINT
# Ports: EGRESS_TEST_S3_PORT / EGRESS_TEST_AZURE_PORT / EGRESS_TEST_GCS_PORT (default: the first free port from
# 19100 / 19200 / 19300).
#
# Why these servers: versitygw (Versity S3 Gateway, Apache-2.0, Go module proxy) over a POSIX directory verifies
# SigV4 signatures (a wrong secret is refused, presigned URLs are really checked) and implements multipart upload;
# s3rver (npm) was tried first and accepts any SigV4 signature; MinIO is AGPL and a much longer build. Azurite is
# Microsoft's own emulator. fake-gcs-server is the usual GCS emulator; it does not check credentials, so a wrong
# GCS key cannot be tested here.

STORAGE_SERVERS_DIR=${STORAGE_SERVERS_DIR:-$STACK_REPO/.cache/storage-servers}
STORAGE_GCS_BIN=${STORAGE_GCS_BIN:-$STACK_REPO/.cache/bin/fake-gcs-server}
STORAGE_S3_BIN=${STORAGE_S3_BIN:-$STACK_REPO/.cache/bin/versitygw}
# Test-only credentials for versitygw's root account; Azurite's well-known development account (public, documented
# by Microsoft).
STORAGE_S3_KEY=egresstestkey
STORAGE_S3_SECRET=egresstestsecret
STORAGE_AZURE_ACCOUNT=devstoreaccount1
STORAGE_AZURE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

storage_servers_check() {
  local missing=()
  [[ -x $STORAGE_S3_BIN ]] || missing+=("versitygw")
  [[ -x $STORAGE_SERVERS_DIR/node_modules/.bin/azurite-blob ]] || missing+=("azurite")
  [[ -x $STORAGE_GCS_BIN ]] || missing+=("fake-gcs-server")
  if ((${#missing[@]})); then
    _stack_log "storage servers missing (${missing[*]}): run scripts/setup"
    return 1
  fi
}

# _storage_http_up PORT PATH: any HTTP answer to GET PATH (an S3 or Azure error reply also means "listening and
# parsing requests").
_storage_http_up() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3; head -n 1 <&3' \
    _ "$1" "$2" 2>/dev/null | grep -q '^HTTP/1\.[01] [0-9]'
}

_storage_port() {
  local var=$1 base=$2
  if [[ -z ${!var:-} ]]; then
    stack_free_port "$base" $((base + 99))
  elif _stack_port_open "${!var}"; then
    _stack_log "$var: 127.0.0.1:${!var} is already in use by another process"
    return 1
  else
    echo "${!var}"
  fi
}

storage_servers_start() {
  storage_servers_check || return 1
  local s3_port az_port gcs_port bin="$STORAGE_SERVERS_DIR/node_modules/.bin"
  s3_port=$(_storage_port EGRESS_TEST_S3_PORT 19100) || return 1
  az_port=$(_storage_port EGRESS_TEST_AZURE_PORT 19200) || return 1
  gcs_port=$(_storage_port EGRESS_TEST_GCS_PORT 19300) || return 1
  local name
  for name in s3 azurite gcs; do
    _stack_stop "$name" TERM 10
    rm -rf "$STACK_DIR/$name/data"
    mkdir -p "$STACK_DIR/$name/data"
  done

  stack_spawn s3 env ROOT_ACCESS_KEY="$STORAGE_S3_KEY" ROOT_SECRET_KEY="$STORAGE_S3_SECRET" \
    "$STORAGE_S3_BIN" --port "127.0.0.1:$s3_port" posix "$STACK_DIR/s3/data"
  # --loose: the Azure SDK sends headers Azurite does not model; --skipApiVersionCheck: the SDK may be newer.
  stack_spawn azurite node "$bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$az_port" \
    --location "$STACK_DIR/azurite/data" --silent --loose --skipApiVersionCheck --disableTelemetry
  stack_spawn gcs "$STORAGE_GCS_BIN" -scheme http -host 127.0.0.1 -port "$gcs_port" -backend filesystem \
    -filesystem-root "$STACK_DIR/gcs/data" -public-host "127.0.0.1:$gcs_port" \
    -external-url "http://127.0.0.1:$gcs_port" -log-level warn

  _stack_wait s3 "GET http://127.0.0.1:$s3_port/ answers" _storage_http_up "$s3_port" / || return 1
  _stack_wait azurite "GET http://127.0.0.1:$az_port/ answers" _storage_http_up "$az_port" / || return 1
  _stack_wait gcs "GET http://127.0.0.1:$gcs_port/storage/v1/b answers" _storage_http_up "$gcs_port" /storage/v1/b ||
    return 1

  export EGRESS_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
  export EGRESS_TEST_S3_ACCESS_KEY=$STORAGE_S3_KEY EGRESS_TEST_S3_SECRET=$STORAGE_S3_SECRET
  export EGRESS_TEST_S3_REGION=us-east-1
  export EGRESS_TEST_AZURE_ENDPOINT="http://127.0.0.1:$az_port/$STORAGE_AZURE_ACCOUNT"
  export EGRESS_TEST_AZURE_ACCOUNT=$STORAGE_AZURE_ACCOUNT EGRESS_TEST_AZURE_KEY=$STORAGE_AZURE_KEY
  export EGRESS_TEST_GCS_ENDPOINT="http://127.0.0.1:$gcs_port"
}
