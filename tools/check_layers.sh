#!/usr/bin/env bash
# Checks that every C++ file includes only from its own room and the rooms below it:
#
#   base (crypto/base) <- crypto <- store/log <- store/meta <- store/map <- store/keys
#   <- store/engine;   store/access sees only the Store interface; fs and tools see the store
#   only through its public headers and store/access.
#
# Tests (*_test.cc, *test_util.h) may also include tests/testing/. Run by tools/test.sh; exits
# non-zero, naming each offending line, when an include points upward or sideways.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

store_api="store/store.h store/store_wrapper.h store/types.h store/backup_policy.h store/keys/key_service.h store/keys/root_secret.h"
# "room prefix|allowed include prefixes", most specific room first.
rules=(
  "crypto/base/|base/"
  "crypto/|base/ crypto/"
  "store/log/|base/ crypto/ store/types.h store/backup_policy.h store/log/"
  "store/meta/|base/ crypto/ store/types.h store/backup_policy.h store/log/location.h store/meta/"
  "store/map/|base/ crypto/ store/types.h store/backup_policy.h store/log/location.h store/meta/ store/map/"
  "store/keys/|base/ crypto/ store/types.h store/backup_policy.h store/log/ store/meta/ store/keys/"
  "store/engine/|base/ crypto/ store/log/ store/meta/ store/map/ store/keys/ store/engine/ store/store.h store/store_wrapper.h store/types.h store/backup_policy.h"
  "store/access/|base/ crypto/ store/store.h store/types.h store/backup_policy.h store/access/"
  "store/rados/|base/ store/types.h store/log/segment_store.h store/rados/"
  "store/|base/ crypto/ store/types.h store/backup_policy.h store/store.h store/keys/key_service.h"
  "fs/|base/ crypto/ fs/ store/access/ $store_api"
  "tools/|base/ crypto/ fs/ tools/ store/access/ $store_api"
  "bench/|base/ fs/ $store_api"
  "tests/testing/|base/ crypto/ tests/testing/ store/store.h store/types.h store/backup_policy.h"
)

# What a room's tests may include beyond the room's own rule (and tests/testing/): the RADOS
# room's tests run the segment log and a whole store over its segment store.
declare -A test_extra=(
  ["store/rados/"]="store/log/ store/store.h"
)

bad=0
while IFS= read -r file; do
  room=""
  allowed=""
  for rule in "${rules[@]}"; do
    prefix="${rule%%|*}"
    if [[ $file == "$prefix"* ]]; then
      # "store/" covers only the files directly in store/, not its rooms.
      if [[ $prefix == store/ && ${file#store/} == */* ]]; then continue; fi
      room="$prefix"
      allowed="${rule#*|}"
      break
    fi
  done
  [[ -n $room ]] || { echo "check_layers: $file is in no room; add it to tools/check_layers.sh"; bad=1; continue; }
  [[ $file == *_test.cc || $file == *test_util.h ]] && allowed+=" tests/testing/ $room ${test_extra[$room]:-}"
  while IFS= read -r hit; do
    line="${hit%%:*}"
    inc="${hit#*:}"
    inc="${inc#*\"}"
    inc="${inc%%\"*}"
    ok=0
    for a in $allowed; do
      [[ $inc == "$a"* ]] && { ok=1; break; }
    done
    if ((!ok)); then
      echo "check_layers: $file:$line includes \"$inc\", which room $room may not see"
      bad=1
    fi
  done < <(grep -n '^#include "' "$file" || true)
done < <(git ls-files '*.cc' '*.h')

if ((bad)); then
  echo "check_layers: FAILED (see docs/ARCHITECTURE.md for the rooms)" >&2
  exit 1
fi
echo "check_layers: OK ($(git ls-files '*.cc' '*.h' | wc -l) files)"
