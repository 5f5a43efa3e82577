#!/usr/bin/env bash
# Installs everything elevate needs to build, package, test and run on
# Debian 12 (debhelper, dh-nss and lintian for the .debs; rpm and rpmlint
# (elfutils for its debuginfo) for the RPM built from
# packaging/rpm/elevate.spec; logrotate to check the rotation; systemd only for
# systemd-analyze, which checks the unit).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates \
  clang libclang-rt-14-dev clang-format \
  libpam0g-dev liboath-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev sqlite3 \
  libgtest-dev libgmock-dev libpam-wrapper libpamtest0-dev \
  libtomlplusplus-dev nlohmann-json3-dev libsystemd-dev libqrencode-dev libhowardhinnant-date-dev tzdata \
  oathtool faketime openssh-server openssh-client sudo expect python3 python3-pexpect \
  libpam-oath libpam-google-authenticator passwd util-linux procps valgrind \
  debhelper dh-nss lintian ccache systemd man-db groff bash-completion \
  rpm rpmlint elfutils logrotate
