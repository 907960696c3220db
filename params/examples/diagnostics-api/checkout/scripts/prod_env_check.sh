#!/usr/bin/env bash
# Preflight of the production env file: ENV_FILE=.env.production bash scripts/prod_env_check.sh
# Prints one line per check and exits 1 when any fails. Values are never printed.
set -u
file="${ENV_FILE:-.env.production}"
[ -f "$file" ] || { echo "SKIP: $file not found"; exit 0; }
get() { sed -n "s/^$1=//p" "$file" | tail -n 1; }
failed=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failed=1; fi; }
check "APP_ENV is production" '[ "$(get APP_ENV)" = production ]'
for key in DATABASE_URL CORS_ORIGINS DIAG_API_KEY_PEPPER WEBHOOK_SIGNING_SECRET SESSION_JWT_SECRET; do
  check "$key is set" '[ -n "$(get $key)" ]'
done
check "CORS_ORIGINS has no *" '! get CORS_ORIGINS | grep -q "\*"'
check "CORS_ORIGINS is https only" '! get CORS_ORIGINS | tr "," "\n" | grep -vq "^https://"'
check "DATABASE_URL requires TLS" 'get DATABASE_URL | grep -q "sslmode=require\|sslmode=verify-full"'
check "LOG_LEVEL is not debug" '[ "$(get LOG_LEVEL)" != debug ]'
[ "$failed" = 0 ] && echo "prod env check: all passed"
exit "$failed"
