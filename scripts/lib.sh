# Shared helpers of scripts/backup.sh and scripts/restore.sh (sourced, never run).
#
# The target database is reached one of two ways:
#   compose  `docker compose exec -T db <tool>` inside the db service, as its POSTGRES_USER on
#            its POSTGRES_DB (PMS_USE_COMPOSE=1 or --compose);
#   direct   the PostgreSQL client tools on this machine, from DATABASE_URL (parsed into PG*
#            variables, the password only ever in PGPASSWORD) or, when DATABASE_URL is unset,
#            from PGHOST / PGPORT / PGUSER / PGDATABASE / PGPASSWORD as libpq reads them.
# shellcheck shell=bash

PMS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PMS_SCRIPT=$(basename "$0")
PMS_MODE=""

die() {
  printf '%s: error: %s\n' "$PMS_SCRIPT" "$*" >&2
  exit 1
}

say() {
  printf '%s: %s\n' "$PMS_SCRIPT" "$*" >&2
}

# Decode %XX escapes of a URL component.
_urldecode() {
  local s=${1//\\/\\\\}
  printf '%b' "${s//%/\\x}"
}

# Set PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (and PGSSLMODE, PGCONNECT_TIMEOUT) from a
# postgres:// URL.
_parse_database_url() {
  local url=$1 rest userinfo hostport query param key value
  [[ $url =~ ^(postgres|postgresql)://(.*)$ ]] || die "DATABASE_URL is not a postgres:// URL"
  rest=${BASH_REMATCH[2]}
  query=""
  if [[ $rest == *\?* ]]; then
    query=${rest#*\?}
    rest=${rest%%\?*}
  fi
  if [[ $rest == */* ]]; then
    PGDATABASE=$(_urldecode "${rest#*/}")
    rest=${rest%%/*}
  fi
  if [[ $rest == *@* ]]; then
    userinfo=${rest%@*}
    hostport=${rest##*@}
    if [[ $userinfo == *:* ]]; then
      PGUSER=$(_urldecode "${userinfo%%:*}")
      PGPASSWORD=$(_urldecode "${userinfo#*:}")
      export PGPASSWORD
    else
      PGUSER=$(_urldecode "$userinfo")
    fi
    export PGUSER
  else
    hostport=$rest
  fi
  if [[ $hostport =~ ^\[([^]]+)\](:([0-9]+))?$ ]]; then # [IPv6]:port
    PGHOST=${BASH_REMATCH[1]}
    [[ -z ${BASH_REMATCH[3]} ]] || PGPORT=${BASH_REMATCH[3]}
  elif [[ $hostport =~ ^([^:]*)(:([0-9]+))?$ ]]; then
    [[ -z ${BASH_REMATCH[1]} ]] || PGHOST=$(_urldecode "${BASH_REMATCH[1]}")
    [[ -z ${BASH_REMATCH[3]} ]] || PGPORT=${BASH_REMATCH[3]}
  else
    die "DATABASE_URL has an unreadable host:port part"
  fi
  [[ -z ${PGHOST:-} ]] || export PGHOST
  [[ -z ${PGPORT:-} ]] || export PGPORT
  [[ -n ${PGDATABASE:-} ]] || die "DATABASE_URL names no database (postgres://user:pass@host:5432/DB)"
  export PGDATABASE
  local IFS='&'
  for param in $query; do
    key=${param%%=*}
    value=$(_urldecode "${param#*=}")
    case $key in
      sslmode) export PGSSLMODE=$value ;;
      connect_timeout) export PGCONNECT_TIMEOUT=$value ;;
      *) say "warning: ignoring the DATABASE_URL option '$key'" ;;
    esac
  done
}

# Decide the mode and check the target is PostgreSQL. $1: 1 when --compose was given; $2: the
# refusal when the configured database is SQLite (the embedded default).
pms_target_init() {
  local sqlite_refusal=$2
  if [[ ${1:-0} == 1 || ${PMS_USE_COMPOSE:-0} == 1 ]]; then
    PMS_MODE=compose
    command -v docker >/dev/null || die "docker is not installed (compose mode: PMS_USE_COMPOSE=1 or --compose)"
    docker compose version >/dev/null 2>&1 || die "'docker compose' is not available (compose mode: PMS_USE_COMPOSE=1 or --compose)"
    return
  fi
  PMS_MODE=direct
  local url=${DATABASE_URL:-}
  url=${url#"${url%%[![:space:]]*}"}
  case $url in
    sqlite:*) die "$sqlite_refusal" ;;
    postgres://* | postgresql://*) _parse_database_url "$url" ;;
    "")
      [[ -n ${PGHOST:-}${PGDATABASE:-}${PGSERVICE:-} ]] || die "$sqlite_refusal (or set DATABASE_URL, or PGHOST/PGDATABASE, to a PostgreSQL database)"
      export PGDATABASE=${PGDATABASE:-${PGUSER:-$(id -un)}}
      ;;
    *) die "DATABASE_URL is neither postgres:// nor sqlite: (${url%%:*}:)" ;;
  esac
  for tool in psql pg_dump pg_restore; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install postgresql-client)"
  done
}

pms_compose() {
  if [[ -n ${COMPOSE_FILE:-} ]]; then
    docker compose "$@"
  else
    docker compose -f "$PMS_ROOT/docker-compose.yml" "$@"
  fi
}

# Run a PostgreSQL client tool (psql, pg_dump, pg_restore) against the target database.
# Files must go through stdin/stdout: in compose mode the tool runs inside the db container.
pms_pg() {
  local tool=$1
  shift
  if [[ $PMS_MODE == compose ]]; then
    # shellcheck disable=SC2016 # expanded by the container's shell, from its environment
    pms_compose exec -T db sh -c 'exec "$0" -U "$POSTGRES_USER" -d "$POSTGRES_DB" "$@"' "$tool" "$@"
  else
    "$tool" -d "$PGDATABASE" "$@"
  fi
}

# psql without ~/.psqlrc, quiet, unaligned tuples only, stopping at the first error.
pms_psql() {
  pms_pg psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"
}

# A human name of the target for messages.
pms_target_label() {
  if [[ $PMS_MODE == compose ]]; then
    printf 'the compose db service'
  else
    printf '%s on %s:%s' "$PGDATABASE" "${PGHOST:-local socket}" "${PGPORT:-5432}"
  fi
}
