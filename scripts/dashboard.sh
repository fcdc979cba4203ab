#!/usr/bin/env bash
# npm run dashboard -- NAME [--stack STACK] [istioctl dashboard flags...]: opens one of the stack's
# dashboards (config `addons`) through the release's own `istioctl dashboard NAME`, which port-forwards to
# the addon's pod in istio-system on the stack's kubeContext and opens the browser
# (istioctl/pkg/dashboard/dashboard.go: kiali, prometheus, grafana and jaeger read --namespace/-n as the
# addon's namespace; --port, --address and --browser pass through). The stack's outputs say what it has.
set -euo pipefail
cd "$(dirname "$0")/.."
. components/scripts/lib.sh
usage="usage: npm run dashboard -- NAME [--stack STACK] [--port N] [--address ADDR] [--browser=false]"

name=${1:-}
[ -n "$name" ] || die "name a dashboard: prometheus, kiali, grafana or jaeger; $usage"
shift
case "$name" in
    prometheus | kiali | grafana | jaeger) ;;
    *) die "'$name' is not a dashboard; one of prometheus, kiali, grafana, jaeger; $usage" ;;
esac
stack=dev
passthrough=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --stack) [ "$#" -ge 2 ] || die "--stack needs a stack name; $usage"; stack=$2; shift 2 ;;
        --stack=*) stack=${1#--stack=}; shift ;;
        *) passthrough+=("$1"); shift ;;
    esac
done
[[ "$stack" =~ ^[A-Za-z0-9._-]+$ ]] || die "'$stack' is not a stack name"

outputs=$(pulumi stack output --json --stack "$stack") ||
    die "could not read the outputs of stack '$stack' (see above); has 'pulumi up' run for it?"
# One value per line: the dashboards, then the context and the release folder.
lines=$(node -e '
let text = "";
process.stdin.on("data", (d) => (text += d)).on("end", () => {
    const o = JSON.parse(text || "{}");
    const dashboards = Array.isArray(o.dashboards) ? o.dashboards.filter((d) => typeof d === "string") : [];
    const str = (v) => (typeof v === "string" && !/[\n\r]/.test(v) ? v : "");
    process.stdout.write([dashboards.join(" "), str(o.kubeContext), str(o.istioReleaseDir)].join("\n") + "\n");
});' <<<"$outputs") || die "the outputs of stack '$stack' are not JSON"
{ read -r dashboards || true; read -r context || true; read -r release_dir || true; } <<<"$lines"

if [ -z "$context" ] || [ -z "$release_dir" ]; then
    die "stack '$stack' has no kubeContext or istioReleaseDir output yet; run 'npm run up -- $stack' first"
fi
if [[ " $dashboards " != *" $name "* ]]; then
    die "stack '$stack' does not install $name (its addons: ${dashboards:-none}); add it with: pulumi config set --path 'addons[N]' $name --stack $stack, then pulumi up"
fi
istioctl="$release_dir/bin/istioctl"
[ -x "$istioctl" ] || die "$istioctl is missing: the release cache was removed; 'pulumi up --stack $stack' unpacks it again"
log "Opening $name of stack '$stack' (kubectl context $context); Ctrl-C stops the port-forward."
exec "$istioctl" dashboard "$name" --context "$context" --namespace istio-system "${passthrough[@]}"
