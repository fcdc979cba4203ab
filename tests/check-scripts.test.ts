// Every components/scripts/checks/check-*.sh, run for real with the environment verificationChecks() gives
// it (2 attempts, no delay), against a fake `kubectl` that plays each case. For the curl checks the fake's
// `exec ... -- curl ARGS` runs the REAL curl here, against servers on 127.0.0.1: an HTTPS server that
// requires a client certificate from a test CA (the mesh under STRICT), one that does not, a plain HTTP
// server, a TCP server that drops every connection, and a port nobody listens on.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { MtlsMode, OUTSIDE_MESH_NAMESPACE } from "../components/config";
import { CheckSpec, verificationChecks } from "../components/verify/verification";
import { createFakeBin, FakeBin, RunResult } from "./helpers/fakeBin";
import { runScriptAsync } from "./helpers/scriptRunner";

const ROOT = path.join(__dirname, "..");
const CHECKS_DIR = path.join(ROOT, "components", "scripts", "checks");
const CONTEXT = "istio-lab";
const MESH_NS = "bookinfo";
const POD = "productpage-v1-7d4b9c-x2x9z";
const DETAILS_URL_TLS = "https://details:9080/details/0";
const DETAILS_URL_PLAIN = `http://details.${MESH_NS}:9080/details/0`;

// kubectl, as the checks call it: `--context=C --namespace=N VERB ...`.
//   get deployment / get peerauthentications... / get pods [--selector=app=productpage]
//        answer from the state file istiod / mtls / pods-<ns> / productpage-<ns>, printed as is;
//        KEY.<n> answers the n-th kubectl call only; KEY.err (or KEY.<n>.err) fails with its text on stderr.
//   exec POD -c C -- curl ARGS
//        runs the real curl with /etc/certs/ replaced by $FAKE_STATE/certs-dir and one --connect-to per line
//        of $FAKE_STATE/connect-to, and exits as curl does (kubectl exec passes the exit code on, saying "command terminated with exit code N");
//        $FAKE_STATE/exec.err makes kubectl itself fail.
const KUBECTL = `
ctx=""; ns=""; rest=()
for a in "$@"; do
    case $a in
        --context=*) ctx=\${a#--context=} ;;
        --namespace=*) ns=\${a#--namespace=} ;;
        *) rest+=("$a") ;;
    esac
done
[ "$ctx" = istio-lab ] || { echo "fake kubectl: wrong context '$ctx'" >&2; exit 97; }
answer() {
    local f="$FAKE_STATE/$1"
    if [ -f "$f.$FAKE_CALL.err" ]; then cat "$f.$FAKE_CALL.err" >&2; exit 1; fi
    if [ -f "$f.$FAKE_CALL" ]; then cat "$f.$FAKE_CALL"; exit 0; fi
    if [ -f "$f.err" ]; then cat "$f.err" >&2; exit 1; fi
    if [ -f "$f" ]; then cat "$f"; fi
    exit 0
}
case "\${rest[0]:-} \${rest[1]:-}" in
    "get deployment") answer istiod ;;
    "get peerauthentications.security.istio.io") answer mtls ;;
    "get pods")
        case " \${rest[*]} " in
            *" --selector=app=productpage "*) answer "productpage-$ns" ;;
            *) answer "pods-$ns" ;;
        esac ;;
    "exec "*)
        if [ -f "$FAKE_STATE/exec.err" ]; then cat "$FAKE_STATE/exec.err" >&2; exit 1; fi
        i=0
        while [ "\${rest[$i]}" != "--" ]; do i=$((i + 1)); done
        [ "\${rest[$((i + 1))]}" = curl ] || { echo "fake kubectl: exec of \${rest[*]:i+1}" >&2; exit 98; }
        certs=$(cat "$FAKE_STATE/certs-dir")
        args=()
        old=/etc/certs/
        for a in "\${rest[@]:i+2}"; do args+=("\${a//"$old"/$certs/}"); done
        extra=()
        while read -r line; do extra+=(--connect-to "$line"); done <"$FAKE_STATE/connect-to"
        # As kubectl exec does: the command's exit code passed on, and said on stderr when it is not 0.
        rc=0
        curl "\${extra[@]}" "\${args[@]}" || rc=$?
        [ "$rc" -eq 0 ] || echo "command terminated with exit code $rc" >&2
        exit "$rc" ;;
    *) echo "fake kubectl: unexpected $*" >&2; exit 99 ;;
esac`;

// ---- certificates ---------------------------------------------------------------------------------------

let pki: string;
let ca: string;
let server: { key: string; cert: string };
let goodCerts: string;
let strangerCerts: string;

function openssl(...args: string[]): void {
    execFileSync("openssl", args, { cwd: pki, stdio: ["ignore", "ignore", "pipe"] });
}

/** A P-256 key and a certificate for CN, signed by the CA in caName.{key,pem} (or self-signed for a CA). */
function issue(name: string, cn: string, caName?: string): void {
    const curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-subj", `/CN=${cn}`];
    if (!caName) {
        openssl("req", "-x509", ...curve, "-out", `${name}.pem`, "-days", "2");
        return;
    }
    openssl("req", ...curve, "-out", `${name}.csr`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${caName}.pem`, "-CAkey", `${caName}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2");
}

/** A folder like the proxy's /etc/certs: key.pem, cert-chain.pem, root-cert.pem. */
function certsDir(name: string, client: string, caName: string): string {
    const dir = path.join(pki, name);
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(pki, `${client}.key`), path.join(dir, "key.pem"));
    fs.writeFileSync(path.join(dir, "cert-chain.pem"), fs.readFileSync(path.join(pki, `${client}.pem`)));
    fs.copyFileSync(path.join(pki, `${caName}.pem`), path.join(dir, "root-cert.pem"));
    return dir;
}

// ---- servers ----------------------------------------------------------------------------------------------

interface Seen {
    path: string;
    clientCn?: string;
}
let seen: Seen[];
let detailsStatus: number;
const servers: net.Server[] = [];
let ports: { mtls: number; open: number; plain: number; reset: number; hangup: number; closed: number };

function answerDetails(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket as tls.TLSSocket;
    const peer = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
    seen.push({ path: req.url ?? "", clientCn: peer && peer.subject ? String(peer.subject.CN) : undefined });
    const status = req.url === "/details/0" ? detailsStatus : 404;
    res.writeHead(status, { "Content-Type": "application/json", Connection: "close" });
    res.end('{"id":0}');
}

async function listen(s: net.Server): Promise<number> {
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    return (s.address() as net.AddressInfo).port;
}

beforeAll(async () => {
    pki = fs.mkdtempSync(path.join(os.tmpdir(), "check-pki-"));
    issue("ca", "test mesh CA");
    issue("server", "details", "ca");
    issue("client", "productpage", "ca");
    issue("stranger-ca", "another CA");
    issue("stranger", "productpage", "stranger-ca");
    goodCerts = certsDir("certs-good", "client", "ca");
    strangerCerts = certsDir("certs-stranger", "stranger", "stranger-ca");
    ca = fs.readFileSync(path.join(pki, "ca.pem"), "utf8");
    server = { key: fs.readFileSync(path.join(pki, "server.key"), "utf8"), cert: fs.readFileSync(path.join(pki, "server.pem"), "utf8") };

    const mtls = https.createServer({ ...server, ca: [ca], requestCert: true, rejectUnauthorized: true }, answerDetails);
    const open = https.createServer({ ...server }, answerDetails);
    const plain = http.createServer(answerDetails);
    // Like Envoy under STRICT when plain text arrives: it reads the first bytes, finds no TLS, and drops the
    // connection, with a reset (curl exit 56) or a plain close (curl exit 52). Dropping before anything is
    // read would race curl's connect and could read as "connection refused" (exit 7).
    const reset = net.createServer((socket) => socket.once("data", () => socket.resetAndDestroy()));
    const hangup = net.createServer((socket) => socket.once("data", () => socket.end()));
    const gone = net.createServer();
    ports = {
        mtls: await listen(mtls),
        open: await listen(open),
        plain: await listen(plain),
        reset: await listen(reset),
        hangup: await listen(hangup),
        closed: await listen(gone),
    };
    // Nothing listens there any more: curl gets "connection refused" (exit 7).
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    servers.pop();
});

afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    fs.rmSync(pki, { recursive: true, force: true });
});

// ---- running a check ---------------------------------------------------------------------------------------

let bin: FakeBin;

beforeEach(() => {
    bin = createFakeBin({ kubectl: KUBECTL });
    seen = [];
    detailsStatus = 200;
    state("certs-dir", goodCerts);
    state("connect-to", "");
    state(`productpage-${MESH_NS}`, POD);
});

afterEach(() => bin.cleanup());

function state(name: string, content = ""): void {
    fs.writeFileSync(path.join(bin.stateDir, name), content);
}

/** Sends details (either URL form) to a port on 127.0.0.1. */
function route(port: number): void {
    state("connect-to", `details:9080:127.0.0.1:${port}\ndetails.${MESH_NS}:9080:127.0.0.1:${port}\n`);
}

function checksFor(mtls: MtlsMode, attempts = 2): CheckSpec[] {
    return verificationChecks({
        kubeContext: CONTEXT,
        mtls,
        injectedNamespaces: [MESH_NS, "legacy"],
        samples: ["sleep", "bookinfo"],
        bookinfoNamespace: MESH_NS,
        // The product page check has its own tests (tests/ingress.test.ts).
        ingress: { serviceType: "NodePort", minikubeProfile: CONTEXT },
        attempts,
        delaySeconds: 0,
    });
}

function spec(script: string, mtls: MtlsMode = "STRICT", attempts = 2): CheckSpec {
    const found = checksFor(mtls, attempts).find((c) => path.basename(c.script) === script);
    if (!found) throw new Error(`verificationChecks has no ${script}`);
    return found;
}

function run(check: CheckSpec, env: Record<string, string> = {}): Promise<RunResult> {
    return runScriptAsync(path.join(ROOT, check.script), { fakeBin: bin, env: { ...check.environment, ...env }, cwd: ROOT, timeout: 25000 });
}

function expectReport(result: RunResult, check: CheckSpec, status: "pass" | "skipped", detail: string | RegExp): void {
    if (result.code !== 0) throw new Error(`${check.name} exited ${result.code}: ${result.stderr}`);
    expect(result.stdout.endsWith("\n")).toBe(true);
    const lines = result.stdout.slice(0, -1).split("\n");
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]);
    expect(Object.keys(parsed)).toEqual(["check", "status", "detail"]);
    expect(parsed.check).toBe(check.name);
    expect(parsed.status).toBe(status);
    if (typeof detail === "string") expect(parsed.detail).toBe(detail);
    else expect(parsed.detail).toMatch(detail);
}

interface Failure {
    expected: string;
    seen: string | RegExp;
    try: string;
}

function expectFailure(result: RunResult, check: CheckSpec, failure: Failure, attempts = 2): void {
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`Check "${check.name}" failed after ${attempts} attempt(s).`);
    // Four lines, each field on one: what curl or kubectl printed is folded into "seen", not spilled after it.
    const block = result.stderr.slice(result.stderr.indexOf(`Check "${check.name}" failed`)).trimEnd().split("\n");
    expect(block.map((line) => /^(Check|  expected:|  seen:|  try:)/.exec(line)?.[1] ?? line)).toEqual(["Check", "  expected:", "  seen:", "  try:"]);
    const field = (name: string) => {
        const m = new RegExp(`^  ${name}: +(.*)$`, "m").exec(result.stderr);
        if (!m) throw new Error(`no "${name}:" line in:\n${result.stderr}`);
        return m[1];
    };
    expect(field("expected")).toBe(failure.expected);
    if (typeof failure.seen === "string") expect(field("seen")).toBe(failure.seen);
    else expect(field("seen")).toMatch(failure.seen);
    expect(field("try")).toContain(failure.try);
}

const kubectlCalls = () => bin.callsOf("kubectl");

// ---- the tests ----------------------------------------------------------------------------------------------

test("verificationChecks covers every check script, with attempts and delay from its inputs", () => {
    const scripts = fs.readdirSync(CHECKS_DIR).filter((f) => /^check-.*\.sh$/.test(f) && f !== "check-lib.sh");
    const checks = checksFor("STRICT");
    expect(checks.map((c) => path.basename(c.script)).sort()).toEqual(scripts.sort());
    for (const check of checks) {
        expect(fs.existsSync(path.join(ROOT, check.script))).toBe(true);
        expect(check.environment).toMatchObject({ CHECK_NAME: check.name, KUBE_CONTEXT: CONTEXT, CHECK_ATTEMPTS: "2", CHECK_DELAY_SECONDS: "0" });
    }
});

describe("check-control-plane.sh", () => {
    const check = () => spec("check-control-plane.sh");
    const TRY = `kubectl --context=${CONTEXT} -n istio-system describe deployment istiod`;
    const EXPECTED = "Deployment istio-system/istiod with at least 1 available replica";

    test("pass: one kubectl call with the exact query", async () => {
        state("istiod", "1");
        const result = await run(check());
        expectReport(result, check(), "pass", "istiod: 1 available replica(s)");
        expect(kubectlCalls()).toEqual([
            [`--context=${CONTEXT}`, "--namespace=istio-system", "get", "deployment", "istiod", "--output=jsonpath={.status.availableReplicas}"],
        ]);
    });

    test("a pod that never becomes ready (availableReplicas empty): fails after exactly CHECK_ATTEMPTS tries", async () => {
        state("istiod", "");
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: "0 available replica(s)", try: TRY });
        expect(kubectlCalls()).toHaveLength(2);

        bin.resetCalls();
        const three = spec("check-control-plane.sh", "STRICT", 3);
        expect(three.environment.CHECK_ATTEMPTS).toBe("3");
        const again = await run(three);
        expectFailure(again, three, { expected: EXPECTED, seen: "0 available replica(s)", try: TRY }, 3);
        expect(kubectlCalls()).toHaveLength(3);
    });

    test("availableReplicas 0 every time: fails after 2 tries", async () => {
        state("istiod", "0");
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: "0 available replica(s)", try: TRY });
        expect(kubectlCalls()).toHaveLength(2);
    });

    test("ready on the second try: passes after 2 calls", async () => {
        state("istiod.1", "");
        state("istiod", "1");
        const result = await run(check());
        expectReport(result, check(), "pass", "istiod: 1 available replica(s)");
        expect(kubectlCalls()).toHaveLength(2);
    });

    test("kubectl fails: its message is what was seen", async () => {
        state("istiod.err", 'Error from server (NotFound): deployments.apps "istiod" not found\n');
        const result = await run(check());
        expectFailure(result, check(), {
            expected: EXPECTED,
            seen: 'kubectl: Error from server (NotFound): deployments.apps "istiod" not found',
            try: TRY,
        });
        expect(kubectlCalls()).toHaveLength(2);
    });

    test("a non-number is not taken for a replica count", async () => {
        state("istiod", "one");
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: "one available replica(s)", try: TRY });
    });
});

describe("check-mtls-mode.sh", () => {
    const TRY = `kubectl --context=${CONTEXT} -n istio-system get peerauthentication default -o yaml`;

    test.each<MtlsMode>(["STRICT", "PERMISSIVE", "DISABLE"])("pass: mode %s as configured", async (mode) => {
        const check = spec("check-mtls-mode.sh", mode);
        state("mtls", mode);
        const result = await run(check);
        expectReport(result, check, "pass", `PeerAuthentication istio-system/default: mode ${mode}`);
        expect(kubectlCalls()).toEqual([
            [`--context=${CONTEXT}`, "--namespace=istio-system", "get", "peerauthentications.security.istio.io", "default", "--output=jsonpath={.spec.mtls.mode}"],
        ]);
    });

    test("another mode: fails with both modes named", async () => {
        const check = spec("check-mtls-mode.sh", "STRICT");
        state("mtls", "PERMISSIVE");
        const result = await run(check);
        expectFailure(result, check, { expected: "PeerAuthentication istio-system/default with mtls.mode STRICT", seen: "mode PERMISSIVE", try: TRY });
        expect(kubectlCalls()).toHaveLength(2);
    });

    test("no mode set", async () => {
        const check = spec("check-mtls-mode.sh", "PERMISSIVE");
        state("mtls", "");
        const result = await run(check);
        expectFailure(result, check, { expected: "PeerAuthentication istio-system/default with mtls.mode PERMISSIVE", seen: "mode (none)", try: TRY });
    });

    test("no PeerAuthentication: kubectl's message is what was seen", async () => {
        const check = spec("check-mtls-mode.sh", "STRICT");
        state("mtls.err", 'Error from server (NotFound): peerauthentications.security.istio.io "default" not found\n');
        const result = await run(check);
        expectFailure(result, check, {
            expected: "PeerAuthentication istio-system/default with mtls.mode STRICT",
            seen: 'kubectl: Error from server (NotFound): peerauthentications.security.istio.io "default" not found',
            try: TRY,
        });
    });
});

describe("check-sidecars.sh", () => {
    const check = () => spec("check-sidecars.sh");
    const SELECTOR = "app in (curl,details,productpage,ratings,reviews)";
    const EXPECTED = `every pod matching '${SELECTOR}' in ${MESH_NS} legacy runs an istio-proxy container`;
    const TRY = `kubectl --context=${CONTEXT} get namespace --show-labels`;
    const QUERY =
        '--output=jsonpath={range .items[*]}{.metadata.name}{" "}{range .spec.containers[*]}{.name}{","}{end}{range .spec.initContainers[*]}{.name}{","}{end}{"\\n"}{end}';

    test("pass: sidecars as containers and as native sidecars (init containers), in every namespace", async () => {
        state(`pods-${MESH_NS}`, "productpage-v1-1 productpage,istio-proxy,\ndetails-v1-1 details,istio-validation,istio-proxy,\n");
        state("pods-legacy", "sleep-1 sleep,istio-proxy,\n");
        const result = await run(check());
        expectReport(result, check(), "pass", "3 pod(s), all with istio-proxy");
        expect(kubectlCalls()).toEqual([
            // Only the samples' pods: whatever else runs in the namespace is not this program's.
            [`--context=${CONTEXT}`, `--namespace=${MESH_NS}`, "get", "pods", `--selector=${SELECTOR}`, QUERY],
            [`--context=${CONTEXT}`, "--namespace=legacy", "get", "pods", `--selector=${SELECTOR}`, QUERY],
        ]);
    });

    test("pods without istio-proxy are named (a container merely named like it does not count)", async () => {
        state(`pods-${MESH_NS}`, "productpage-v1-1 productpage,istio-proxy,\n");
        state("pods-legacy", "sleep-1 sleep,\nhelper-1 helper,istio-proxy-helper,\n");
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: "pods without istio-proxy: legacy/sleep-1 legacy/helper-1", try: TRY });
        expect(kubectlCalls()).toHaveLength(4);
    });

    test("no pods at all", async () => {
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: `no pods matching '${SELECTOR}' in ${MESH_NS} legacy`, try: TRY });
    });

    test("kubectl fails in one namespace", async () => {
        state(`pods-${MESH_NS}`, "productpage-v1-1 productpage,istio-proxy,\n");
        state("pods-legacy.err", 'error: the server doesn\'t have a resource type "pods"\n');
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: `kubectl: error: the server doesn't have a resource type "pods"`, try: TRY });
    });
});

describe("check-curl-with-certs.sh (check 4)", () => {
    const check = () => spec("check-curl-with-certs.sh");
    const EXPECTED = `HTTP 200 from ${DETAILS_URL_TLS} with the certificates in /etc/certs`;
    const TRY = `kubectl --context=${CONTEXT} -n ${MESH_NS} exec deploy/productpage-v1 -c istio-proxy -- ls /etc/certs`;

    test("with the workload certificates: HTTP 200 over mutual TLS → pass", async () => {
        route(ports.mtls);
        const result = await run(check());
        expectReport(result, check(), "pass", "with certificates: curl exit 0, HTTP 200");
        expect(seen).toEqual([{ path: "/details/0", clientCn: "productpage" }]);
        const calls = kubectlCalls();
        expect(calls[0]).toEqual([
            `--context=${CONTEXT}`,
            `--namespace=${MESH_NS}`,
            "get",
            "pods",
            "--selector=app=productpage",
            "--output=jsonpath={.items[0].metadata.name}",
        ]);
        expect(calls[1].slice(0, 8)).toEqual([`--context=${CONTEXT}`, `--namespace=${MESH_NS}`, "exec", POD, "-c", "istio-proxy", "--", "curl"]);
        expect(calls[1]).toEqual(
            expect.arrayContaining([DETAILS_URL_TLS, "--key", "/etc/certs/key.pem", "--cert", "/etc/certs/cert-chain.pem", "--cacert", "/etc/certs/root-cert.pem"]),
        );
    });

    test("certificates from another CA: the handshake is refused → fail with curl's exit code", async () => {
        route(ports.mtls);
        state("certs-dir", strangerCerts);
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: /^curl exit (35|52|56), HTTP /, try: TRY });
        expect(seen).toEqual([]);
    });

    test("served, but not 200 → fail naming the status", async () => {
        route(ports.mtls);
        detailsStatus = 503;
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: "curl exit 0, HTTP 503", try: TRY });
        expect(seen).toHaveLength(2);
    });

    test("no productpage pod", async () => {
        state(`productpage-${MESH_NS}`, "");
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: `no productpage pod in ${MESH_NS}`, try: TRY });
        expect(kubectlCalls().every((args) => args[2] === "get")).toBe(true);
    });

    test("kubectl cannot list pods", async () => {
        state(`productpage-${MESH_NS}.err`, "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\n");
        const result = await run(check());
        expectFailure(result, check(), {
            expected: EXPECTED,
            seen: "kubectl: The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?",
            try: TRY,
        });
    });

    test.each<MtlsMode>(["PERMISSIVE", "DISABLE"])("%s: skipped, no kubectl call", async (mode) => {
        const c = spec("check-curl-with-certs.sh", mode);
        const result = await run(c);
        expectReport(result, c, "skipped", `mutual TLS is ${mode}; a plain TLS client is only terminated under STRICT`);
        expect(kubectlCalls()).toEqual([]);
    });
});

describe("refused_by_peer (check-lib.sh): how the curl checks read a refusal", () => {
    /** Sources the library as the checks do and asks it about each exit code. */
    const refused = (codes: number[]): Record<number, boolean> => {
        const script = `. components/scripts/checks/check-lib.sh; for c in ${codes.join(" ")}; do if refused_by_peer "$c"; then echo "$c yes"; else echo "$c no"; fi; done`;
        const out = execFileSync("bash", ["-c", script], { cwd: ROOT, env: { ...process.env, CHECK_NAME: "x", KUBE_CONTEXT: "x" }, encoding: "utf8" });
        return Object.fromEntries(out.trim().split("\n").map((l) => [Number(l.split(" ")[0]), l.endsWith("yes")]));
    };

    test("every way upstream Envoy refuses a client under STRICT counts: the handshake (35), an empty reply (52), a reset (56), and under TLS 1.3 a failed send (55) or the HTTP/2 layer (16)", () => {
        expect(refused([16, 35, 52, 55, 56])).toEqual({ 16: true, 35: true, 52: true, 55: true, 56: true });
    });

    test("nothing else does: success, a name that does not resolve (6), no one listening (7), a timeout (28), an unknown error", () => {
        expect(refused([0, 1, 6, 7, 28, 60])).toEqual({ 0: false, 1: false, 6: false, 7: false, 28: false, 60: false });
    });
});

describe("check-curl-without-certs.sh (check 5)", () => {
    const check = () => spec("check-curl-without-certs.sh");
    const EXPECTED = "the TLS handshake to details:9080 refused without a client certificate";
    const TRY = `kubectl --context=${CONTEXT} -n istio-system get peerauthentication -A`;

    test("the server requires a client certificate: refused (curl exit 35/56) → pass", async () => {
        route(ports.mtls);
        const result = await run(check());
        expectReport(result, check(), "pass", /^without certificates: refused \(curl exit (35|52|56)\)$/);
        expect(seen).toEqual([]);
        const exec = kubectlCalls()[1];
        expect(exec.slice(0, 8)).toEqual([`--context=${CONTEXT}`, `--namespace=${MESH_NS}`, "exec", POD, "-c", "istio-proxy", "--", "curl"]);
        expect(exec).toContain(DETAILS_URL_TLS);
        expect(exec.filter((a) => a.includes("/etc/certs") || a === "--cert" || a === "--key")).toEqual([]);
    });

    test("a server that does not require client certificates serves it → fail", async () => {
        route(ports.open);
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: "served without a client certificate (HTTP 200)", try: TRY });
        expect(seen).toEqual([
            { path: "/details/0", clientCn: undefined },
            { path: "/details/0", clientCn: undefined },
        ]);
    });

    test("nothing listening (connection refused, curl exit 7) is an error of the check, not a pass", async () => {
        route(ports.closed);
        const result = await run(check());
        // curl's own message alone: not the status it wrote (000), not kubectl's "command terminated" line.
        expectFailure(result, check(), { expected: EXPECTED, seen: /^curl could not make the request \(exit 7\): curl: \(7\) Failed to connect[^|]*server$/, try: TRY });
    });

    test("kubectl exec itself failing (no such pod) is an error of the check", async () => {
        route(ports.mtls);
        state("exec.err", `Error from server (NotFound): pods "${POD}" not found\n`);
        const result = await run(check());
        expectFailure(result, check(), {
            expected: EXPECTED,
            seen: `curl could not make the request (exit 1): Error from server (NotFound): pods "${POD}" not found`,
            try: TRY,
        });
    });

    test("no productpage pod", async () => {
        state(`productpage-${MESH_NS}`, "");
        const result = await run(check());
        expectFailure(result, check(), { expected: EXPECTED, seen: `no productpage pod in ${MESH_NS}`, try: TRY });
    });

    test.each<MtlsMode>(["PERMISSIVE", "DISABLE"])("%s: skipped, no kubectl call", async (mode) => {
        const c = spec("check-curl-without-certs.sh", mode);
        const result = await run(c);
        expectReport(result, c, "skipped", `mutual TLS is ${mode}; only STRICT requires a client certificate`);
        expect(kubectlCalls()).toEqual([]);
    });
});

describe("check-plaintext.sh (check 6)", () => {
    const TRY = `kubectl --context=${CONTEXT} -n ${OUTSIDE_MESH_NAMESPACE} get pods`;
    const refusedExpected = `plain text from ${OUTSIDE_MESH_NAMESPACE} to ${DETAILS_URL_PLAIN} refused`;
    const servedExpected = (mode: MtlsMode) => `plain text from ${OUTSIDE_MESH_NAMESPACE} to ${DETAILS_URL_PLAIN} served with HTTP 200 (${mode})`;

    test.each<MtlsMode>(["PERMISSIVE", "DISABLE"])("%s: served with HTTP 200 → pass", async (mode) => {
        const check = spec("check-plaintext.sh", mode);
        route(ports.plain);
        const result = await run(check);
        expectReport(result, check, "pass", "from outside the mesh: served (HTTP 200)");
        expect(seen).toEqual([{ path: "/details/0", clientCn: undefined }]);
        const calls = kubectlCalls();
        expect(calls).toHaveLength(1);
        expect(calls[0].slice(0, 8)).toEqual([`--context=${CONTEXT}`, `--namespace=${OUTSIDE_MESH_NAMESPACE}`, "exec", "deploy/curl", "-c", "curl", "--", "curl"]);
        expect(calls[0][calls[0].length - 1]).toBe(DETAILS_URL_PLAIN);
    });

    test.each([
        ["reset", 56],
        ["hangup", 52],
    ] as const)("PERMISSIVE: refused (%s) → fail", async (kind, code) => {
        const check = spec("check-plaintext.sh", "PERMISSIVE");
        route(ports[kind]);
        const result = await run(check);
        expectFailure(result, check, { expected: servedExpected("PERMISSIVE"), seen: `refused (curl exit ${code})`, try: TRY });
    });

    test("PERMISSIVE: served but not 200 → fail", async () => {
        const check = spec("check-plaintext.sh", "PERMISSIVE");
        route(ports.plain);
        detailsStatus = 503;
        const result = await run(check);
        expectFailure(result, check, { expected: servedExpected("PERMISSIVE"), seen: "served (HTTP 503)", try: TRY });
    });

    test.each([
        ["reset", 56],
        ["hangup", 52],
    ] as const)("STRICT: the connection is dropped (%s, curl exit %d) → pass", async (kind, code) => {
        const check = spec("check-plaintext.sh", "STRICT");
        route(ports[kind]);
        const result = await run(check);
        expectReport(result, check, "pass", `from outside the mesh: refused (curl exit ${code})`);
        expect(kubectlCalls()).toHaveLength(1);
    });

    test("STRICT: served → fail", async () => {
        const check = spec("check-plaintext.sh", "STRICT");
        route(ports.plain);
        const result = await run(check);
        expectFailure(result, check, { expected: refusedExpected, seen: "served (HTTP 200)", try: TRY });
        expect(seen).toHaveLength(2);
    });

    test.each<MtlsMode>(["STRICT", "PERMISSIVE"])("%s: nothing listening (curl exit 7) is an error of the check", async (mode) => {
        const check = spec("check-plaintext.sh", mode);
        route(ports.closed);
        const result = await run(check);
        expectFailure(result, check, {
            expected: mode === "STRICT" ? refusedExpected : servedExpected(mode),
            seen: /^curl could not make the request \(exit 7\): curl: \(7\) Failed to connect[^|]*server$/,
            try: TRY,
        });
    });
});

describe("the JSON line", () => {
    // A harness that sources the real check-lib.sh (and through it the real lib.sh) by symlink, so that
    // report() can be given any detail.
    let harness: string;
    beforeEach(() => {
        const root = path.join(bin.workDir, "scripts");
        fs.mkdirSync(path.join(root, "checks"), { recursive: true });
        fs.symlinkSync(path.join(ROOT, "components", "scripts", "lib.sh"), path.join(root, "lib.sh"));
        fs.symlinkSync(path.join(CHECKS_DIR, "check-lib.sh"), path.join(root, "checks", "check-lib.sh"));
        harness = path.join(root, "checks", "harness.sh");
        fs.writeFileSync(harness, '. "$(dirname "$0")/check-lib.sh"\n"$VERB" "$DETAIL"\n');
    });

    const nasty = [
        'Error from server (NotFound): deployments.apps "istiod" not found',
        String.raw`C:\Users\me\.kube\config: "quoted \"inner\"" \\ trailing \ `,
        "two\nlines\tand a tab",
        "carriage\r return, escape \x1b[31mred\x1b[0m, bell \x07, nul-free \x01",
        "UTF-8 stays: héllo ✓ — “quotes”",
        "",
    ];

    test.each(nasty.map((d) => [JSON.stringify(d), d]))("pass/skip with detail %s is one valid JSON line", async (_label, detail) => {
        for (const verb of ["pass", "skip"]) {
            const result = await runScriptAsync(harness, {
                fakeBin: bin,
                env: { CHECK_NAME: 'name with "quotes" and \\', KUBE_CONTEXT: CONTEXT, VERB: verb, DETAIL: detail },
            });
            expect(result.code).toBe(0);
            expect(result.stdout.endsWith("\n")).toBe(true);
            const lines = result.stdout.slice(0, -1).split("\n");
            expect(lines).toHaveLength(1);
            const parsed = JSON.parse(lines[0]);
            expect(parsed).toEqual({
                check: 'name with "quotes" and \\',
                status: verb === "pass" ? "pass" : "skipped",
                // Line breaks, tabs and other control characters become spaces; everything else is kept.
                detail: detail.replace(/[\x00-\x1f\x7f]/g, " "),
            });
        }
    });

    test("a real check's skip line stays valid JSON when its detail carries quotes and backslashes", async () => {
        const check = spec("check-curl-with-certs.sh", "PERMISSIVE");
        const odd = 'PERMISSIVE "or" \\ so';
        const result = await run(check, { EXPECTED_MTLS: odd });
        expectReport(result, check, "skipped", `mutual TLS is ${odd}; a plain TLS client is only terminated under STRICT`);
    });

    test("a kubectl error with quotes and backslashes reaches the failure message verbatim", async () => {
        const check = spec("check-control-plane.sh");
        const message = String.raw`Error from server (Forbidden): deployments.apps "istiod" is forbidden: User "system:anonymous\x" cannot get`;
        state("istiod.err", `${message}\n`);
        const result = await run(check);
        expectFailure(result, check, { expected: "Deployment istio-system/istiod with at least 1 available replica", seen: `kubectl: ${message}`, try: "describe deployment istiod" });
    });
});
