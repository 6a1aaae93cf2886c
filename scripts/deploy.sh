#!/usr/bin/env bash
# Rolling deploy of one image to a docker compose host. Run on the host, in the directory that holds
# docker-compose.yml, ops/ and the host's own .env (which never leaves the host):
#
#   scripts/deploy.sh ghcr.io/owner/emotion-diary@sha256:...
#
# 1. pulls the image;
# 2. runs the migrate job with it (migrations must be backward compatible: the old version keeps
#    serving while the new one rolls out, and a rollback does not revert them);
# 3. restarts the API instances one at a time, each waiting until Docker reports it healthy and its
#    /readyz answers 200, reloading nginx so it resolves the new container;
# 4. restarts the worker(s) the same way (their /readyz is on the metrics port);
# 5. on any failure in 3-4, puts every restarted service back on the previous image and exits 1.
#
# Environment: API_SERVICES (default "api1 api2"), WORKER_SERVICES ("worker"), API_PORT (3000),
# WORKER_METRICS_PORT (9464), READY_TIMEOUT_SEC (180), READY_POLL_SEC (3).
# -E: the ERR trap (rollback) also fires for failures inside functions.
set -Eeuo pipefail

NEW_IMAGE="${1:?usage: scripts/deploy.sh <image reference>}"
read -r -a API_SERVICES <<<"${API_SERVICES:-api1 api2}"
read -r -a WORKER_SERVICES <<<"${WORKER_SERVICES:-worker}"
READY_TIMEOUT_SEC="${READY_TIMEOUT_SEC:-180}"
READY_POLL_SEC="${READY_POLL_SEC:-3}"
API_PORT="${API_PORT:-3000}"
WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-9464}"
STATE_DIR=".deploy"
COMPOSE=(docker compose --file docker-compose.yml --env-file .env)

log() { printf '[deploy %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [ ! -f docker-compose.yml ] || [ ! -f .env ]; then
  log "run me next to docker-compose.yml and .env"
  exit 2
fi
mkdir -p "$STATE_DIR"

# The image the first API instance runs now; the rollback target.
current_image() {
  local id
  id="$("${COMPOSE[@]}" ps --quiet "${API_SERVICES[0]}" 2>/dev/null || true)"
  if [ -n "$id" ]; then
    docker inspect --format '{{.Config.Image}}' "$id"
  elif [ -f "$STATE_DIR/current-image" ]; then
    cat "$STATE_DIR/current-image"
  fi
}

# Healthy in Docker's eyes (healthcheck on /healthz) and ready in the app's (/readyz on the given
# port inside the container: every dependency answers).
wait_ready() {
  local service="$1" port="$2" deadline=$((SECONDS + READY_TIMEOUT_SEC)) id status
  while [ "$SECONDS" -lt "$deadline" ]; do
    id="$("${COMPOSE[@]}" ps --quiet "$service" || true)"
    status="$( [ -n "$id" ] && docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" || echo missing)"
    if [ "$status" = "healthy" ]; then
      if "${COMPOSE[@]}" exec -T "$service" node -e \
        "fetch('http://127.0.0.1:$port/readyz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"; then
        return 0
      fi
    fi
    sleep "$READY_POLL_SEC"
  done
  log "$service not ready after ${READY_TIMEOUT_SEC}s (last status: ${status:-unknown})"
  return 1
}

# Recreates one service on the given image and waits until it is ready on its port.
roll() {
  local service="$1" image="$2" port="$3"
  log "restarting $service on $image"
  # Explicit returns: inside `roll ... || …` (the rollback) errexit does not apply.
  APP_IMAGE="$image" "${COMPOSE[@]}" up --detach --no-deps --no-build --force-recreate "$service" || return 1
  wait_ready "$service" "$port" || return 1
  # nginx resolved the old container's address at start; a graceful reload re-resolves it.
  if is_api "$service"; then "${COMPOSE[@]}" exec -T nginx nginx -s reload >/dev/null 2>&1 || true; fi
}

is_api() {
  local api
  for api in "${API_SERVICES[@]}"; do [ "$api" = "$1" ] && return 0; done
  return 1
}

port_of() {
  if is_api "$1"; then echo "$API_PORT"; else echo "$WORKER_METRICS_PORT"; fi
}

PREVIOUS_IMAGE="$(current_image)"
restarted=()

rollback() {
  trap - ERR
  if [ -z "$PREVIOUS_IMAGE" ]; then
    log "deploy failed and there is no previous image to roll back to"
    exit 1
  fi
  log "deploy failed: rolling ${restarted[*]:-nothing} back to $PREVIOUS_IMAGE"
  local service
  for service in "${restarted[@]}"; do
    roll "$service" "$PREVIOUS_IMAGE" "$(port_of "$service")" || log "rollback of $service failed: needs a human"
  done
  exit 1
}

log "deploying $NEW_IMAGE (previous: ${PREVIOUS_IMAGE:-none})"
docker pull --quiet "$NEW_IMAGE" >/dev/null

log "running migrations"
APP_IMAGE="$NEW_IMAGE" "${COMPOSE[@]}" run --rm --no-deps migrate

trap rollback ERR
for service in "${API_SERVICES[@]}" "${WORKER_SERVICES[@]}"; do
  restarted+=("$service")
  roll "$service" "$NEW_IMAGE" "$(port_of "$service")"
done
trap - ERR

[ -n "$PREVIOUS_IMAGE" ] && printf '%s\n' "$PREVIOUS_IMAGE" >"$STATE_DIR/previous-image"
printf '%s\n' "$NEW_IMAGE" >"$STATE_DIR/current-image"
# Later `docker compose up` runs use the deployed image too.
if grep -q '^APP_IMAGE=' .env; then
  sed -i "s|^APP_IMAGE=.*|APP_IMAGE=$NEW_IMAGE|" .env
else
  printf 'APP_IMAGE=%s\n' "$NEW_IMAGE" >>.env
fi
log "deployed $NEW_IMAGE"
