# shellcheck shell=bash
# Shared by the verification checks. Each check prints one JSON line on stdout,
# {"check":NAME,"status":"pass"|"skipped","detail":TEXT}, and exits 0; or explains on stderr what it
# expected, what it saw and what to try, and exits 1. Retries are bounded: CHECK_ATTEMPTS tries,
# CHECK_DELAY_SECONDS apart.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
need CHECK_NAME
need KUBE_CONTEXT
attempts=${CHECK_ATTEMPTS:-30}
delay=${CHECK_DELAY_SECONDS:-5}
[[ "$attempts" =~ ^[1-9][0-9]*$ ]] || die "CHECK_ATTEMPTS must be a whole number above 0, not '$attempts'"
[[ "$delay" =~ ^[0-9]+$ ]] || die "CHECK_DELAY_SECONDS must be a whole number, not '$delay'"

json_string() {
    local text=${1//\\/\\\\}
    text=${text//\"/\\\"}
    text=${text//$'\n'/ }
    text=${text//$'\t'/ }
    text=${text//[[:cntrl:]]/ } # JSON allows no raw control character (RFC 8259 section 7): \r, ESC, ...
    printf '"%s"' "$text"
}

report() { # status detail
    printf '{"check":%s,"status":%s,"detail":%s}\n' "$(json_string "$CHECK_NAME")" "$(json_string "$1")" "$(json_string "$2")"
}

pass() {
    report pass "$1"
    exit 0
}

skip() {
    report skipped "$1"
    exit 0
}

# fail EXPECTED SEEN TRY
fail() {
    printf 'Check "%s" failed after %s attempt(s).\n  expected: %s\n  seen:     %s\n  try:      %s\n' \
        "$CHECK_NAME" "$attempts" "$1" "$2" "$3" >&2
    exit 1
}

k() {
    kubectl --context="$KUBE_CONTEXT" "$@"
}

# exec_curl NAMESPACE POD CONTAINER CURL_ARGS...: curl in a pod's container through kubectl exec, its
# body discarded. Sets curl_code (the HTTP status curl wrote, 000 without an answer) and curl_error (curl's
# own message, or kubectl's when the exec itself failed, without the "command terminated with exit code N"
# that kubectl adds); returns curl's exit code (kubectl exec passes it on).
exec_curl() {
    local namespace=$1 pod=$2 container=$3 errors rc=0
    shift 3
    errors=$(mktemp)
    # shellcheck disable=SC2034 # read by the checks that source this file
    curl_code=$(k --namespace="$namespace" exec "$pod" -c "$container" -- \
        curl --silent --show-error --max-time 10 --output /dev/null --write-out '%{http_code}' "$@" 2>"$errors") || rc=$?
    curl_error=$(grep -v '^command terminated with exit code [0-9]*$' "$errors" | tr '\n' ' ' || true)
    curl_error=${curl_error% }
    rm -f "$errors"
    return "$rc"
}

# retry PROBE: runs the function PROBE until it returns 0, at most $attempts times. PROBE sets $seen.
retry() {
    local attempt
    for ((attempt = 1; attempt <= attempts; attempt++)); do
        if "$1"; then
            return 0
        fi
        [ "$attempt" -lt "$attempts" ] && sleep "$delay"
    done
    return 1
}

# refused_by_peer CODE: whether a curl exit code means the server refused the connection it had accepted:
# the TLS handshake failed (35), an empty reply (52), a reset while receiving (56), and what TLS 1.3 adds:
# the server refuses a client certificate (or its absence) only after the client finished its side of the
# handshake, so curl meets the refusal when it next sends, as a failed send (55, "Send failure: Broken
# pipe") or, with HTTP/2 agreed in the handshake, in the HTTP/2 layer (16); upstream Envoy under STRICT
# gives all of these (the real tier's checks). Not a refusal: no name (6), no one listening (7), a timeout (28).
refused_by_peer() {
    case "$1" in
        16 | 35 | 52 | 55 | 56) return 0 ;;
        *) return 1 ;;
    esac
}

# productpage_pod: sets $pod to bookinfo's productpage pod in MESH_NAMESPACE; on failure sets $seen (the
# caller's report of what it saw).
# shellcheck disable=SC2034 # pod and seen are the caller's variables
productpage_pod() {
    pod=$(k --namespace="$MESH_NAMESPACE" get pods --selector=app=productpage --output='jsonpath={.items[0].metadata.name}' 2>&1) || {
        seen="kubectl: $pod"
        return 1
    }
    [ -n "$pod" ] || {
        seen="no productpage pod in $MESH_NAMESPACE"
        return 1
    }
}
