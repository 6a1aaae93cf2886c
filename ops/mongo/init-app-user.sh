#!/usr/bin/env bash
# Runs once, on the first start of the mongo container (docker-entrypoint-initdb.d), while the
# server is still bound to localhost: creates the application's own user with readWrite on the
# application database, so the app never holds the root credentials.
set -euo pipefail
: "${MONGO_APP_USER:?}" "${MONGO_APP_PASSWORD:?}" "${MONGO_INITDB_DATABASE:?}"
mongosh --quiet \
  --username "$MONGO_INITDB_ROOT_USERNAME" --password "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin \
  "$MONGO_INITDB_DATABASE" <<JS
db.createUser({ user: "$MONGO_APP_USER", pwd: "$MONGO_APP_PASSWORD", roles: [{ role: "readWrite", db: "$MONGO_INITDB_DATABASE" }] });
JS
