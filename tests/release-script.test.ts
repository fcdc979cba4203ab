// components/scripts/istio-release.sh, run for real (bash, curl, tar, sha256sum) against a small Istio-shaped
// archive served from 127.0.0.1 by the test. Nothing leaves the machine.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { runScriptAsync } from "./helpers/scriptRunner";
import { createFakeBin, FakeBin } from "./helpers/fakeBin";

const SCRIPT = path.join(__dirname, "..", "components", "scripts", "istio-release.sh");
const VERSION = "1.30.3";
const FILE = `istio-${VERSION}-linux-amd64.tar.gz`;
const URL_PATH = `/istio/istio/releases/download/${VERSION}/${FILE}`;

let fixtures: string;
let good: Buffer;
let goodSha: string;
let noFolder: Buffer;
let server: http.Server;
let port: number;
/** Path → what to answer; anything else is a 404. */
let routes: Map<string, { status: number; body: Buffer; delayMs?: number }>;
let requests: string[];
let scratch: string;

const sha256 = (data: Buffer | string) => crypto.createHash("sha256").update(data).digest("hex");
/** As Istio publishes it: "<hex> <file name>", ONE space (istio/release-builder pkg/util/files.go CreateSha). */
const shaFile = (hex: string) => Buffer.from(`${hex} ${FILE}\n`);

function tree(root: string, version: string): void {
    const dir = path.join(root, `istio-${version}`);
    const files: Record<string, string> = {
        "bin/istioctl": "#!/bin/sh\necho fake istioctl\n",
        "manifests/charts/base/Chart.yaml": "apiVersion: v2\nname: base\nversion: 1.30.3\n",
        "manifests/charts/istio-control/istio-discovery/Chart.yaml": "apiVersion: v2\nname: istiod\nversion: 1.30.3\n",
        "samples/x.yaml": "kind: ConfigMap\n",
    };
    for (const [rel, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text, { mode: rel.startsWith("bin/") ? 0o755 : 0o644 });
    }
}

function tarball(name: string, version: string, folder: string): Buffer {
    const src = path.join(fixtures, `${name}-src`);
    fs.mkdirSync(src);
    tree(src, version);
    const out = path.join(fixtures, `${name}.tar.gz`);
    execFileSync("tar", ["-czf", out, "-C", src, folder]);
    return fs.readFileSync(out);
}

beforeAll(async () => {
    fixtures = fs.mkdtempSync(path.join(os.tmpdir(), "istio-release-fixtures-"));
    good = tarball("good", VERSION, `istio-${VERSION}`);
    goodSha = sha256(good);
    noFolder = tarball("other", "1.29.0", "istio-1.29.0");
    server = http.createServer((req, res) => {
        requests.push(req.url ?? "");
        const route = routes.get(req.url ?? "");
        if (!route) {
            res.writeHead(404, { "Content-Type": "text/plain" });
            res.end("not found\n");
            return;
        }
        const answer = () => {
            res.writeHead(route.status, { "Content-Type": "application/octet-stream", "Content-Length": route.body.length });
            res.end(route.body);
        };
        if (route.delayMs) setTimeout(answer, route.delayMs);
        else answer();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(fixtures, { recursive: true, force: true });
});

beforeEach(() => {
    routes = new Map();
    requests = [];
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "istio-release-"));
});

afterEach(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
});

const releaseUrl = () => `http://127.0.0.1:${port}${URL_PATH}`;

function serve(archive: Buffer, checksum: Buffer | null): void {
    routes.set(URL_PATH, { status: 200, body: archive });
    if (checksum) routes.set(`${URL_PATH}.sha256`, { status: 200, body: checksum });
}

function run(cacheDir: string, source: Record<string, string>, cwd = scratch, fakeBin?: FakeBin) {
    return runScriptAsync(SCRIPT, { env: { ISTIO_VERSION: VERSION, ISTIO_CACHE_DIR: cacheDir, ...source }, cwd, timeout: 30000, fakeBin });
}

/** Every file and folder under dir, dot-files included, relative and sorted. */
function listing(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return (fs.readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

function expectUnpacked(releaseDir: string, sha = goodSha): void {
    expect(fs.readFileSync(path.join(releaseDir, "bin", "istioctl"), "utf8")).toContain("fake istioctl");
    expect(fs.statSync(path.join(releaseDir, "bin", "istioctl")).mode & 0o111).not.toBe(0);
    expect(fs.existsSync(path.join(releaseDir, "manifests/charts/base/Chart.yaml"))).toBe(true);
    expect(fs.existsSync(path.join(releaseDir, "manifests/charts/istio-control/istio-discovery/Chart.yaml"))).toBe(true);
    expect(fs.existsSync(path.join(releaseDir, "samples/x.yaml"))).toBe(true);
    expect(fs.readFileSync(path.join(releaseDir, ".istio-minikube-complete"), "utf8")).toBe(`${sha}\n`);
}

describe("download from ISTIO_RELEASE_URL", () => {
    test("a good archive is checked, unpacked and its folder printed; a second run reuses it without HTTP", async () => {
        serve(good, shaFile(goodSha));
        const cache = path.join(scratch, "cache");
        const first = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(first.stderr).not.toMatch(/istio-minikube:/);
        expect(first.code).toBe(0);
        const releaseDir = path.join(cache, `istio-${VERSION}`);
        expect(first.stdout).toBe(`${releaseDir}\n`);
        expect(requests).toEqual([URL_PATH, `${URL_PATH}.sha256`]);
        expectUnpacked(releaseDir);
        // Only the release folder is left in the cache: the work folder is gone.
        expect(fs.readdirSync(cache)).toEqual([`istio-${VERSION}`]);

        const second = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(second.code).toBe(0);
        expect(second.stdout).toBe(first.stdout);
        expect(second.stderr).toMatch(/already unpacked/);
        expect(requests).toHaveLength(2);
        expect(fs.readdirSync(cache)).toEqual([`istio-${VERSION}`]);
    });

    test("an upper-case checksum is accepted (the first field is compared in lower case)", async () => {
        serve(good, shaFile(goodSha.toUpperCase()));
        const result = await run(path.join(scratch, "cache"), { ISTIO_RELEASE_URL: releaseUrl() });
        expect(result.code).toBe(0);
        expectUnpacked(path.join(scratch, "cache", `istio-${VERSION}`));
    });

    test("a leftover folder without the completion marker is replaced", async () => {
        serve(good, shaFile(goodSha));
        const cache = path.join(scratch, "cache");
        const stale = path.join(cache, `istio-${VERSION}`);
        fs.mkdirSync(path.join(stale, "bin"), { recursive: true });
        fs.writeFileSync(path.join(stale, "half-written"), "x");
        const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(result.code).toBe(0);
        expect(requests).toHaveLength(2);
        expect(fs.existsSync(path.join(stale, "half-written"))).toBe(false);
        expectUnpacked(stale);
    });

    test("a checksum mismatch fails, names both sums, and leaves nothing behind", async () => {
        const wrong = sha256("not the archive");
        serve(good, shaFile(wrong));
        const cache = path.join(scratch, "cache");
        fs.mkdirSync(cache);
        fs.writeFileSync(path.join(cache, "already-here.txt"), "keep me");
        const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(result.code).not.toBe(0);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain(`checksum mismatch for Istio ${VERSION}: expected ${wrong}, got ${goodSha}`);
        expect(listing(cache)).toEqual(["already-here.txt"]);
        expect(fs.readFileSync(path.join(cache, "already-here.txt"), "utf8")).toBe("keep me");
    });

    test("a checksum file that is not a sha256 (an HTML error page) is refused", async () => {
        serve(good, Buffer.from("<html><body>rate limited</body></html>\n"));
        const cache = path.join(scratch, "cache");
        const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toMatch(/does not start with a sha256 \(got '<html><body>rate'\)/);
        expect(listing(cache)).toEqual([]);
    });

    test("a 404 for the archive names the URL and leaves nothing behind", async () => {
        const cache = path.join(scratch, "cache");
        const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(result.code).not.toBe(0);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain(`could not download ${releaseUrl()}`);
        expect(result.stderr).toMatch(/404/);
        // A 404 is not retried, and the checksum is never asked for.
        expect(requests).toEqual([URL_PATH]);
        expect(listing(cache)).toEqual([]);
    });

    test("a 404 for the checksum file names the checksum URL and leaves nothing behind", async () => {
        serve(good, null);
        const cache = path.join(scratch, "cache");
        const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`could not download the checksum ${releaseUrl()}.sha256`);
        expect(listing(cache)).toEqual([]);
    });

    test("an archive without the istio-<version>/ folder is refused and leaves nothing behind", async () => {
        serve(noFolder, shaFile(sha256(noFolder)));
        const cache = path.join(scratch, "cache");
        const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`the archive has no istio-${VERSION}/ folder`);
        expect(listing(cache)).toEqual([]);
    });

    test("neither a URL nor an archive: refused before anything is fetched", async () => {
        const result = await run(path.join(scratch, "cache"), {});
        expect(result.code).not.toBe(0);
        expect(result.stderr).toMatch(/ISTIO_RELEASE_URL is not set/);
        expect(requests).toEqual([]);
        expect(listing(path.join(scratch, "cache"))).toEqual([]);
    });
});

describe("local ISTIO_RELEASE_ARCHIVE", () => {
    test("with its .sha256 beside it: unpacked, no HTTP at all", async () => {
        const dir = path.join(scratch, "downloads dir");
        fs.mkdirSync(dir);
        const archive = path.join(dir, FILE);
        fs.writeFileSync(archive, good);
        fs.writeFileSync(`${archive}.sha256`, shaFile(goodSha));
        const cache = path.join(scratch, "cache");
        const result = await run(cache, { ISTIO_RELEASE_ARCHIVE: archive });
        expect(result.code).toBe(0);
        expect(result.stdout).toBe(`${path.join(cache, `istio-${VERSION}`)}\n`);
        expectUnpacked(path.join(cache, `istio-${VERSION}`));
        expect(requests).toEqual([]);
        // The local archive and its checksum are left as they were.
        expect(fs.readdirSync(dir).sort()).toEqual([FILE, `${FILE}.sha256`]);
        expect(fs.readdirSync(cache)).toEqual([`istio-${VERSION}`]);
    });

    test("without its .sha256: refused with a message naming the missing file", async () => {
        const archive = path.join(scratch, FILE);
        fs.writeFileSync(archive, good);
        const cache = path.join(scratch, "cache");
        const result = await run(cache, { ISTIO_RELEASE_ARCHIVE: archive });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`the checksum file ${archive}.sha256 is missing`);
        expect(listing(cache)).toEqual([]);
        expect(requests).toEqual([]);
    });

    test("a local archive that does not match its .sha256 is refused", async () => {
        const archive = path.join(scratch, FILE);
        fs.writeFileSync(archive, noFolder);
        fs.writeFileSync(`${archive}.sha256`, shaFile(goodSha));
        const cache = path.join(scratch, "cache");
        const result = await run(cache, { ISTIO_RELEASE_ARCHIVE: archive });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`expected ${goodSha}, got ${sha256(noFolder)}`);
        expect(listing(cache)).toEqual([]);
    });

    test("a missing archive is named", async () => {
        const archive = path.join(scratch, "nope", FILE);
        const result = await run(path.join(scratch, "cache"), { ISTIO_RELEASE_ARCHIVE: archive });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`no such file: ${archive}`);
    });
});

test("a cache path with spaces and $(...) / backticks is used literally and runs nothing", async () => {
    serve(good, shaFile(goodSha));
    const work = path.join(scratch, "work");
    fs.mkdirSync(work);
    const cacheName = "my cache $(touch pwned) `touch pwned2`; touch pwned3";
    const cache = path.join(work, cacheName);
    const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() }, work);
    expect(result.code).toBe(0);
    const releaseDir = path.join(cache, `istio-${VERSION}`);
    expect(result.stdout).toBe(`${releaseDir}\n`);
    expectUnpacked(releaseDir);
    // Nothing was executed: no "pwned*" file in the working folder, the cache, or anywhere in scratch.
    expect(fs.readdirSync(work)).toEqual([cacheName]);
    expect(listing(scratch).filter((p) => /(^|\/)pwned\d?$/.test(p))).toEqual([]);

    const again = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() }, work);
    expect(again.stdout).toBe(result.stdout);
    expect(requests).toHaveLength(2);
});

/** The pid of a process that has ended. */
const endedPid = () => execFileSync("bash", ["-c", "true & echo $!; wait"], { encoding: "utf8" }).trim();

/** The cache's lock for the release, as a run holding it leaves it: a folder with the owner's pid. */
function leaveLock(cache: string, owner: string): string {
    const lock = path.join(cache, `.istio-${VERSION}.lock`);
    fs.mkdirSync(lock, { recursive: true });
    fs.writeFileSync(path.join(lock, "pid"), `${owner}\n`);
    return lock;
}

describe("two runs at once (two stacks' `pulumi up` on one machine)", () => {
    test("they take turns: one download, both print the complete folder, nothing of either is removed", async () => {
        serve(good, shaFile(goodSha));
        // A slow download keeps the first run inside its unpack while the second one starts.
        routes.get(URL_PATH)!.delayMs = 1500;
        const cache = path.join(scratch, "cache");
        const releaseDir = path.join(cache, `istio-${VERSION}`);
        const [a, b] = await Promise.all([run(cache, { ISTIO_RELEASE_URL: releaseUrl() }), run(cache, { ISTIO_RELEASE_URL: releaseUrl() })]);
        expect([a.code, b.code]).toEqual([0, 0]);
        expect(a.stdout).toBe(`${releaseDir}\n`);
        expect(b.stdout).toBe(`${releaseDir}\n`);
        expect(requests).toEqual([URL_PATH, `${URL_PATH}.sha256`]);
        expect(`${a.stderr}${b.stderr}`).toMatch(/Another run is unpacking Istio 1\.30\.3 \(pid \d+\); waiting for it\./);
        expect(`${a.stderr}${b.stderr}`).toMatch(/unpacked in .* by another run/);
        expectUnpacked(releaseDir);
        // No lock, no work folder, no nested copy left behind.
        expect(fs.readdirSync(cache)).toEqual([`istio-${VERSION}`]);
        expect(fs.existsSync(path.join(releaseDir, `istio-${VERSION}`))).toBe(false);
    });

    test("a lock left by a run that was killed is taken over", async () => {
        serve(good, shaFile(goodSha));
        const cache = path.join(scratch, "cache");
        const ended = endedPid();
        leaveLock(cache, ended);
        const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl() });
        expect(result.code).toBe(0);
        expect(result.stderr).toContain(`Taking over the lock of a run that ended while unpacking Istio ${VERSION} (pid ${ended})`);
        expectUnpacked(path.join(cache, `istio-${VERSION}`));
        expect(fs.readdirSync(cache)).toEqual([`istio-${VERSION}`]);
    });

    test("two runs that both find a dead run's lock: one takes it over, the other waits; one download, one folder", async () => {
        serve(good, shaFile(goodSha));
        const cache = path.join(scratch, "cache");
        leaveLock(cache, endedPid());
        // A cat that reads the lock's pid at once but answers the second reader late: both runs see the dead
        // owner, the first takes the lock over, and only then does the second act on what it saw, the
        // interleaving in which it would remove the lock the first has just taken.
        routes.get(URL_PATH)!.delayMs = 2500;
        const slow = createFakeBin({
            cat: `content=$(/bin/cat "$@") || exit 1
case "$1" in *.lock/pid) mkdir "$FAKE_STATE/first" 2>/dev/null || sleep 1.5 ;; esac
printf '%s\\n' "$content"`,
        });
        try {
            const both = () => run(cache, { ISTIO_RELEASE_URL: releaseUrl() }, scratch, slow);
            const [a, b] = await Promise.all([both(), both()]);
            expect([a.code, b.code]).toEqual([0, 0]);
            expect(requests).toEqual([URL_PATH, `${URL_PATH}.sha256`]);
            expect(`${a.stderr}${b.stderr}`.match(/Taking over the lock/g)).toHaveLength(1);
            expectUnpacked(path.join(cache, `istio-${VERSION}`));
            expect(fs.readdirSync(cache)).toEqual([`istio-${VERSION}`]);
        } finally {
            slow.cleanup();
        }
    });

    test("a lock held by a live run past the wait: fails naming the lock, and leaves that run's lock alone", async () => {
        serve(good, shaFile(goodSha));
        const cache = path.join(scratch, "cache");
        const lock = leaveLock(cache, String(process.pid));
        const result = await run(cache, { ISTIO_RELEASE_URL: releaseUrl(), ISTIO_RELEASE_LOCK_WAIT: "2" });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`waited 2s for another run to unpack Istio ${VERSION}; if no other 'pulumi up' is running, remove ${lock} (and ${lock}.takeover, if it is there) and try again`);
        expect(requests).toEqual([]);
        expect(fs.readFileSync(path.join(lock, "pid"), "utf8")).toBe(`${process.pid}\n`);
    });
});
