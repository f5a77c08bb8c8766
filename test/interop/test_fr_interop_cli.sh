#!/usr/bin/env bash
# fr-interop's command line keeps the interop runner's contract: -l lists
# the six cases one per line, unsupported cases, drafts and URL schemes
# exit 127, bad usage exits 2, and a relay that does not answer gives a
# well-formed TAP run that fails (exit 1) and bails out.
#
#   test_fr_interop_cli.sh FR_INTEROP_BINARY
#
# Sends only to 127.0.0.1, to a port nothing listens on.
set -euo pipefail
bin=$1
fails=0

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# expect_exit CODE DESCRIPTION COMMAND...: the command's exit status.
expect_exit() {
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >/dev/null 2>&1 || rc=$?
    ((rc == want)) || fail "$what: exit $rc, want $want"
}

want_cases="setup-only
announce-only
publish-namespace-done
subscribe-error
announce-subscribe
subscribe-before-announce"
[[ $("$bin" -l) == "$want_cases" ]] || fail "-l does not list the six cases"
[[ $(env TESTCASE=x RELAY_URL=https://x "$bin" --list) == "$want_cases" ]] ||
    fail "--list depends on the environment"

expect_exit 127 "unknown case" "$bin" -t no-such-case
expect_exit 127 "unknown TESTCASE" env TESTCASE=no-such-case "$bin"
expect_exit 127 "WebTransport URL" "$bin" -r https://127.0.0.1:4443/moq
expect_exit 127 "RELAY_URL WebTransport" env RELAY_URL=https://a:1 "$bin"
expect_exit 127 "another draft" env MOQT_DRAFT=draft-14 "$bin"
expect_exit 2 "URL without port" "$bin" -r moqt://127.0.0.1
expect_exit 2 "URL with a path" "$bin" -r moqt://127.0.0.1:4433/x
expect_exit 2 "unknown scheme" "$bin" -r quic://127.0.0.1:4433
expect_exit 2 "unknown option" "$bin" --no-such-option
expect_exit 2 "missing value" "$bin" -r
expect_exit 2 "leftover argument" "$bin" extra
expect_exit 2 "--ca with --tls-disable-verify" "$bin" --ca /dev/null \
    --tls-disable-verify
expect_exit 0 "--help" "$bin" --help
grep -q -- '--tls-disable-verify' <<<"$("$bin" --help)" ||
    fail "--help does not name --tls-disable-verify"

# An explicit -r wins over RELAY_URL (the runner's precedence).
out=$(RELAY_URL=https://ignored:1 "$bin" -r moqt://127.0.0.1:9 \
    -t setup-only --tls-disable-verify 2>/dev/null) && rc=0 || rc=$?
((rc == 1)) || fail "-r over RELAY_URL: exit $rc, want 1 (nothing answers)"
grep -qx '# Relay: moqt://127.0.0.1:9' <<<"$out" ||
    fail "-r did not take precedence over RELAY_URL"

# MOQT_DRAFT confines the offer to one draft.
out=$(MOQT_DRAFT=draft-19 "$bin" -r moqt://127.0.0.1:9 -t setup-only \
    --tls-disable-verify 2>/dev/null) && rc=0 || rc=$?
((rc == 1)) || fail "MOQT_DRAFT=draft-19: exit $rc, want 1 (nothing answers)"
grep -qx '# Draft: none negotiated (offered moqt-19)' <<<"$out" ||
    fail "MOQT_DRAFT=draft-19 did not confine the offer"

# Nothing answers: TAP 14 with the plan, the first case failed by timeout,
# then a bail out instead of five more timeouts.
out=$("$bin" -r moqt://127.0.0.1:9 --tls-disable-verify 2>/dev/null) &&
    rc=0 || rc=$?
((rc == 1)) || fail "unreachable relay: exit $rc, want 1"
[[ $(head -n1 <<<"$out") == "TAP version 14" ]] || fail "no TAP version line"
grep -qx '# Draft: none negotiated (offered moqt-19,moqt-18)' <<<"$out" ||
    fail "no '# Draft:' header for no relay"
grep -qx '1\.\.6' <<<"$out" || fail "no plan 1..6"
grep -qx 'not ok 1 - setup-only' <<<"$out" || fail "setup-only not failed"
grep -qx '  received: "timeout"' <<<"$out" || fail "no 'received: timeout'"
grep -q '^Bail out! ' <<<"$out" || fail "no bail out"
grep -q '^ok ' <<<"$out" && fail "a case passed with no relay"
(($(grep -c '^not ok ' <<<"$out") == 1)) ||
    fail "went on after the first case found no relay"

((fails == 0)) || exit 1
echo "PASS: fr-interop's command line"
