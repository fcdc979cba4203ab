// `npm run verify -- --stack NAME`: the same checks outside `pulumi up`, as a table, exit 0 only when all pass.
import { spawnSync } from "child_process";
import * as path from "path";
import { createFakeBin } from "./helpers/fakeBin";
import { renderTable } from "../scripts/verify";

const projectDir = path.resolve(__dirname, "..");
const tsx = path.join(projectDir, "node_modules", ".bin", "tsx");

/** A kubectl that plays a healthy STRICT mesh in the dev stack, except what `broken` names. */
function meshKubectl(broken: "none" | "plaintext-served") {
    return createFakeBin({
        kubectl: `
args="$*"
case "$args" in
  *"--context=istio-dev"*) ;;
  *) echo "unexpected context: $args" >&2; exit 1 ;;
esac
case "$args" in
  *"get deployment istiod"*) printf 1 ;;
  *"get peerauthentications"*) printf STRICT ;;
  *"selector=app=productpage"*) printf productpage-v1-1 ;;
  *"get pods"*) printf 'productpage-v1-1 productpage,istio-proxy,\\n' ;;
  *"--cert /etc/certs/cert-chain.pem"*) printf 200 ;;
  *"exec productpage-v1-1"*) echo "curl: (56) alert certificate required" >&2; exit 56 ;;
  *"exec deploy/curl"*) ${broken === "plaintext-served" ? "printf 200" : 'echo "curl: (56) Connection reset by peer" >&2; exit 56'} ;;
  *"get service istio-ingressgateway"*) printf 31380 ;;
  *) echo "unexpected: $args" >&2; exit 1 ;;
esac`,
        minikube: `[ "$*" = "ip --profile=istio-dev" ] && echo 192.168.49.2`,
        // The host's curl of the product page (the mesh's own curls run through kubectl exec above):
        // writes the page to --output and prints the status, as curl --write-out '%{http_code}' does.
        curl: `
out=""; url=""
while [ "$#" -gt 0 ]; do
    case "$1" in
        --output) out=$2; shift ;;
        --max-time | --write-out) shift ;;
        -*) ;;
        *) url=$1 ;;
    esac
    shift
done
[ "$url" = http://192.168.49.2:31380/productpage ] || { echo "curl: (7) unexpected URL $url" >&2; exit 7; }
printf '<html><head><title>Simple Bookstore App</title></head></html>' > "$out"
printf 200`,
    });
}

function runVerify(bin: { dir: string }) {
    return spawnSync(tsx, ["scripts/verify.ts", "--stack", "dev"], {
        cwd: projectDir,
        encoding: "utf8",
        env: { ...process.env, PATH: `${bin.dir}:${process.env.PATH}`, CHECK_ATTEMPTS: "1", CHECK_DELAY_SECONDS: "0" },
    });
}

test("a healthy mesh: seven checks pass and the exit code is 0", () => {
    const result = runVerify(meshKubectl("none"));
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^CHECK\s+STATUS\s+DETAIL/);
    for (const name of ["control-plane-ready", "mtls-mode", "sidecars-injected", "curl-with-certificates", "curl-without-certificates", "plaintext-from-outside", "ingress-productpage"]) {
        expect(result.stdout).toMatch(new RegExp(`^${name}\\s+PASS`, "m"));
    }
    expect(result.stdout).toMatch(/^ingress-productpage\s+PASS\s+http:\/\/192\.168\.49\.2:31380\/productpage answered HTTP 200 with 'Simple Bookstore App'$/m);
    expect(result.stdout).toContain("7 of 7 checks passed");
});

test("plain text served under STRICT: that check fails, says why, and the exit code is 1", () => {
    const result = runVerify(meshKubectl("plaintext-served"));
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^plaintext-from-outside\s+FAIL/m);
    expect(result.stdout).toContain("seen:     served (HTTP 200)");
    expect(result.stdout).toContain("6 of 7 checks passed");
});

test("the table puts continuation lines under the detail column", () => {
    const table = renderTable([{ check: "x", status: "fail", detail: "first\nsecond" }]);
    const lines = table.split("\n");
    expect(lines[1]).toMatch(/^x\s+FAIL\s+first$/);
    expect(lines[2].indexOf("second")).toBe(lines[1].indexOf("first"));
});
