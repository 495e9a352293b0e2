#!/usr/bin/env bash
# Install the Debian packages named in the given lists (one a line, `#` comments) that are not
# installed yet. The Dockerfile runs it on deploy/apt-runtime.txt; .ci/run on that list and
# deploy/apt-ci.txt. APT_INSTALL_OPTS adds apt-get options (the image: --no-install-recommends).
set -euo pipefail

mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$@" | grep -v '^$')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "apt: the ${#wanted[@]} packages of $* are installed"
  exit 0
fi
echo "apt: installing ${missing[*]}"
apt-get update -qq
# shellcheck disable=SC2086  # APT_INSTALL_OPTS is a list of options
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${APT_INSTALL_OPTS:-} "${missing[@]}"
