#!/usr/bin/env bash
# The seed's approach to the example suite, for benchmarks/bench_suite.py: the same checks as
# `pytest --env=sandbox` (checks/), each its own sequential curl, as the design document's
# verify-deployment.sh does (check_passed / check_failed counters, exit 0 pass, 1 fail).
#
# Needs: curl, jq, and the sandbox's environment exported (CLOUDFLARE_API_BASE_URL,
# CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, GITHUB_API_URL, GITHUB_TOKEN, GITHUB_REPOSITORY,
# CONVEX_URL, CONVEX_SELF_HOSTED_ADMIN_KEY, APP_URL, WORKER_URL) and SOT (the example table).
set -u

PASSED_CHECKS=0
FAILED_CHECKS=0
check_passed() { PASSED_CHECKS=$((PASSED_CHECKS + 1)); echo "✅ $1"; }
check_failed() { FAILED_CHECKS=$((FAILED_CHECKS + 1)); echo "❌ $1"; }
check() { if [ "$2" = "0" ]; then check_passed "$1"; else check_failed "$1"; fi; }

CF="$CLOUDFLARE_API_BASE_URL/accounts/$CLOUDFLARE_ACCOUNT_ID"
PROJECT=app-web
SCRIPT=log-ingestion
GH="$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/environments/production"
cf() { curl -s -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" "$CF$1"; }
gh() { curl -s -H "Authorization: Bearer $GITHUB_TOKEN" -H "Accept: application/vnd.github+json" "$GH$1?per_page=100"; }
convex() { curl -s -H "Authorization: Convex $CONVEX_SELF_HOSTED_ADMIN_KEY" "$CONVEX_URL$1" "${@:2}"; }

# the table's keys per target, and the PROD value of each plain key
keys() { awk -F'|' -v t="$1" '/^\|/ && $2 !~ /TARGET|---/ { n = split($2, ts, ","); for (i = 1; i <= n; i++) { gsub(/ /, "", ts[i]); if (ts[i] == t) { k = $4; gsub(/ /, "", k); print k } } }' "$SOT"; }
prod_value() { awk -F'|' -v k="$1" '/^\|/ { key = $4; gsub(/ /, "", key); if (key == k) { v = $6; gsub(/^ +| +$/, "", v); print v; exit } }' "$SOT"; }
is_secret() { [[ "$1" != NEXT_PUBLIC_* ]] && [[ "$1" =~ SECRET|TOKEN|PASSWORD|PRIVATE|WEBHOOK|_KEY$ ]]; }

names_of() {  # the key names a platform holds, one a line
    case "$1" in
        NEXTJS) cf "/pages/projects/$PROJECT" | jq -r '.result.deployment_configs.production.env_vars // {} | keys[]' ;;
        CONVEX) convex /api/v1/list_environment_variables | jq -r '.environmentVariables | keys[]' ;;
        CLOUDFLARE_WORKER)
            cf "/workers/scripts/$SCRIPT/settings" | jq -r '.result.bindings[] | select(.type == "plain_text") | .name'
            cf "/workers/scripts/$SCRIPT/secrets" | jq -r '.result[].name' ;;
        GITHUB)
            gh /secrets | jq -r '.secrets[].name'
            gh /variables | jq -r '.variables[].name' ;;
    esac
}
value_of() {  # the stored value of a plain key, as the platform shows it
    case "$1" in
        NEXTJS) cf "/pages/projects/$PROJECT" | jq -r --arg k "$2" '.result.deployment_configs.production.env_vars[$k].value // empty' ;;
        CONVEX) convex /api/v1/list_environment_variables | jq -r --arg k "$2" '.environmentVariables[$k] // empty' ;;
        CLOUDFLARE_WORKER) cf "/workers/scripts/$SCRIPT/settings" | jq -r --arg k "$2" '.result.bindings[] | select(.name == $k) | .text' ;;
        GITHUB) curl -s -H "Authorization: Bearer $GITHUB_TOKEN" "$GH/variables/$2" | jq -r '.value // empty' ;;
    esac
}
TARGETS="NEXTJS CONVEX CLOUDFLARE_WORKER GITHUB"

echo "=== Configuration ==="
for target in $TARGETS; do
    held=$(names_of "$target")
    missing=0; for key in $(keys "$target"); do grep -qx "$key" <<<"$held" || missing=1; done
    check "$target holds every key of the table" $missing
    held=$(names_of "$target")
    dev=0; grep -q "localhost\|dev-beaming-gull" <<<"$held" && dev=1
    check "$target holds no development value names" $dev
    held=$(names_of "$target")
    required=0; [ -n "$held" ] || required=1
    check "$target holds its required keys" $required
done

echo "=== Convex ==="
name=$(convex /instance_name); check "Convex answers ($name)" "$([ -n "$name" ] && echo 0 || echo 1)"
info=$(convex /api/v1/deployment_info); check "Convex is the configured deployment" "$(grep -q prod-graceful-shrimp-355 <<<"$info$name" && echo 0 || echo 1)"
spec=$(convex /api/query -X POST -H 'Content-Type: application/json' -d '{"path":"_system/cli/modules:apiSpec","args":[{}]}')
missing=0; for fn in messages:list messages:send logs:ingest; do grep -q "\"${fn%%:*}.js:${fn#*:}\"\|\"$fn\"" <<<"$spec" || missing=1; done
check "Convex serves messages:list, messages:send, logs:ingest" $missing

echo "=== Drift ==="
for target in $TARGETS; do
    for key in $(keys "$target"); do
        if is_secret "$key"; then
            names_of "$target" | grep -qx "$key"; check "$target $key is set (write-only)" $?
        else
            [ "$(value_of "$target" "$key")" = "$(prod_value "$key" | sed 's/\\|/|/g')" ]; check "$target $key matches the table" $?
        fi
    done
done
for target in $TARGETS; do
    extra=0; table=$(keys "$target"); for name in $(names_of "$target"); do grep -qx "$name" <<<"$table" || extra=1; done
    check "$target holds no key outside the table" $extra
done

echo "=== Integration ==="
app_convex=$(value_of NEXTJS NEXT_PUBLIC_CONVEX_URL); name=$(convex /instance_name)
check "the app's NEXT_PUBLIC_CONVEX_URL names the checked Convex deployment" "$(grep -q "$name" <<<"$app_convex" && echo 0 || echo 1)"
code=$(curl -s -o /dev/null -w "%{http_code}" -X OPTIONS -H "Origin: https://app.example.com" -H "Access-Control-Request-Method: POST" "$WORKER_URL/logs")
[ "$code" = "204" ] || [ "$code" = "200" ]; preflight=$?
id="seed-$$-$RANDOM"
code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Origin: https://app.example.com" -H "Content-Type: application/json" -d "{\"level\":\"info\",\"message\":\"$id\"}" "$WORKER_URL/logs")
logs=$(curl -s "$WORKER_URL/logs")
check "the Worker accepts and lists the app's log" "$([ $preflight = 0 ] && [ "$code" = 202 ] && grep -q "$id" <<<"$logs" && echo 0 || echo 1)"
id="chain-$$-$RANDOM"
code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Origin: https://app.example.com" -H "Content-Type: application/json" -d "{\"level\":\"info\",\"message\":\"$id\"}" "$WORKER_URL/logs")
check "integration chain worker-log-roundtrip" "$([ "$code" = 202 ] && curl -s "$WORKER_URL/logs" | grep -q "$id" && echo 0 || echo 1)"

echo "=== Pages ==="
HTTP_CODE=$(curl -s -o /dev/null -w "%{http_code}" "$APP_URL/"); check "Web app accessible at $APP_URL ($HTTP_CODE)" "$([ "$HTTP_CODE" = 200 ] && echo 0 || echo 1)"
curl -s "$APP_URL/" | grep -q 'data-app="app.example.com"'; check "Web app serves its marker" $?
ms=$(curl -s -o /dev/null -w "%{time_total}" "$APP_URL/"); check "Web app answers within 5 s (${ms}s)" "$(awk -v t="$ms" 'BEGIN { print (t < 5) ? 0 : 1 }')"
active=$(cf "/pages/projects/$PROJECT" | jq -r '.result.canonical_deployment.id // .result.latest_deployment.id')
check "Pages has a production deployment ($active)" "$([ -n "$active" ] && [ "$active" != null ] && echo 0 || echo 1)"
served=$(curl -s -D - -o /dev/null "$APP_URL/" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-deploycheck-deployment" { print $2 }')
check "Web app serves the active deployment" "$([ -z "$served" ] || [ "$served" = "$active" ] && echo 0 || echo 1)"

echo "=== Worker ==="
WORKER_HEALTH=$(curl -s "$WORKER_URL/health")
WORKER_STATUS=$(echo "$WORKER_HEALTH" | jq -r '.status')
check "Worker health check: $WORKER_STATUS" "$([ "$WORKER_STATUS" = healthy ] && echo 0 || echo 1)"
ms=$(curl -s -o /dev/null -w "%{time_total}" "$WORKER_URL/health"); check "Worker answers within 5 s (${ms}s)" "$(awk -v t="$ms" 'BEGIN { print (t < 5) ? 0 : 1 }')"
version=$(curl -s "$WORKER_URL/health" | jq -r '.version // empty')
versions=$(cf "/workers/scripts/$SCRIPT/versions")
check "Worker serves a deployed version ($version)" "$(grep -q "$version" <<<"$versions" && echo 0 || echo 1)"
curl -s "$WORKER_URL/health" | grep -q '"status"'; check "Worker reports its state" $?
deployments=$(cf "/workers/scripts/$SCRIPT/deployments")
check "Worker has an active deployment" "$(jq -e '.result.deployments | length > 0' <<<"$deployments" >/dev/null && echo 0 || echo 1)"

echo "Passed: $PASSED_CHECKS  Failed: $FAILED_CHECKS"
if [ $FAILED_CHECKS -gt 0 ]; then
    exit 1
fi
exit 0
