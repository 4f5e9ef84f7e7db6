# Shared by scripts/test-servers and scripts/tls-servers (sourced, not run):
# messages on stderr, port checks, and installing the server programs from
# the distribution's packages where they are missing.

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "$*"; exit 1; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port name
    for _ in $(seq 1 60); do
        listening "$1" && return 0
        sleep 0.5
    done
    die "$2 did not start listening on 127.0.0.1:$1 within 30 s"
}

apt_updated=
apt_install() {
    [ "$(id -u)" = 0 ] || die "$* is missing and installing it needs root; install it yourself"
    command -v apt-get >/dev/null || die "$* is missing and this is not a Debian-like system; install it yourself"
    if [ -z "$apt_updated" ]; then
        say "apt-get update"
        apt-get update -qq >&2
        apt_updated=1
    fi
    say "installing $* from the distribution's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# The newest PostgreSQL server programs folder (initdb, pg_ctl), or nothing.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# The program `$1` from PATH or the sbin folders that are often not on it.
program() { PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v "$1" 2>/dev/null; }

# What private servers need (tests/restart.rs starts its own with these, and
# so does scripts/tls-servers): initdb and pg_ctl, mariadb-install-db and
# mariadbd, runuser to run PostgreSQL as `postgres` when root, and openssl
# for the test certificates. Installs the packages that bring the missing
# ones; installing `postgresql` or `mariadb-server` may also set up and start
# the distribution's own server, which the tests do not use.
private_server_programs() {
    local missing=()
    if [ ! -x "$(pg_bin)/initdb" ]; then missing+=(postgresql); fi
    if [ -z "$(program mariadb-install-db)" ] || { [ -z "$(program mariadbd)" ] && [ -z "$(program mysqld)" ]; }; then
        missing+=(mariadb-server)
    fi
    if [ -z "$(program openssl)" ]; then missing+=(openssl); fi
    if [ "$(id -u)" = 0 ] && [ -z "$(program runuser)" ]; then missing+=(util-linux); fi
    if [ ${#missing[@]} -eq 0 ]; then
        say "private server programs present: $(pg_bin)/initdb, $(program mariadb-install-db), $(program mariadbd || program mysqld), $(program openssl)"
        return
    fi
    apt_install "${missing[@]}"
    [ -x "$(pg_bin)/initdb" ] || die "initdb is still missing after installing ${missing[*]}"
    [ -n "$(program mariadb-install-db)" ] || die "mariadb-install-db is still missing after installing ${missing[*]}"
}
