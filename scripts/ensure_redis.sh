#!/usr/bin/env bash
# Make sure redis-server is on PATH, so the shared-budget tests run against a real Redis.
# CI calls this before `make test`; on a developer machine run it once (as root, or install
# Redis from your package manager yourself). The tests start their own server on a free
# loopback port, so nothing is left running.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_redis: installing redis-server with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    command -v redis-server >/dev/null
    exit 0
fi
echo "ensure_redis: redis-server is not installed and this script cannot install it here" >&2
echo "ensure_redis: (needs root and apt-get); install Redis, or the Redis tests will be skipped" >&2
echo "ensure_redis: outside CI, and fail on CI" >&2
exit 1
