// components/scripts/image-preload.sh and image-remove.sh, run for real (bash, xz, tar) against fake
// `docker` and `minikube`. The fake docker's `save` prints a real tar the test built; the fake minikube's
// `image load` only "loads" a plain tar (as minikube hands the file to the runtime undecompressed) and,
// like the real one, exits 0 even when it loaded nothing.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { canonicalImage, familiarImage, imageArchiveFileName } from "../components/cluster/images";
import { createFakeBin, runScript, FakeBin } from "./helpers/fakeBin";

const PRELOAD = path.join(__dirname, "..", "components", "scripts", "image-preload.sh");
const REMOVE = path.join(__dirname, "..", "components", "scripts", "image-remove.sh");
const PROFILE = "mesh lab";
const PILOT = canonicalImage("istio/pilot:1.30.3");

let bin: FakeBin;
let archiveDir: string;

// docker: `pull` succeeds unless $FAKE_STATE/pull-fails; `save` prints $FAKE_STATE/image.tar, or half of it
// and fails when $FAKE_STATE/save-fails.
const DOCKER = `
case "$1" in
    pull) [ -e "$FAKE_STATE/pull-fails" ] && { echo "Error response from daemon: pull access denied" >&2; exit 1; }; echo "pulled $2" ;;
    save)
        if [ -e "$FAKE_STATE/save-fails" ]; then head -c 100 "$FAKE_STATE/image.tar"; echo "Error: write failed" >&2; exit 1; fi
        cat "$FAKE_STATE/image.tar" ;;
    *) echo "fake docker: unexpected $*" >&2; exit 99 ;;
esac`;

// minikube:
//   status            exits with $FAKE_STATE/status-code (default 0)
//   image load P FILE keeps a copy of FILE; "loads" it only if it is a plain tar (tar -tf), adding the name in
//                     its repotag file to $FAKE_STATE/images; exits 0 either way
//   image ls          prints the loaded images as $FAKE_STATE/ls-mode says: full (default), short (Docker's
//                     familiar form), none, suffixed (a near miss: name + "-distroless"), or given (exactly
//                     $FAKE_STATE/ls-given, whatever was loaded)
//   image rm          exits 0
const MINIKUBE = `
case "$1 $2" in
    "status "*) exit "$(cat "$FAKE_STATE/status-code" 2>/dev/null || echo 0)" ;;
    "image load")
        file=$4
        cp "$file" "$FAKE_STATE/loaded.tar"
        if tar -tf "$file" >/dev/null 2>&1; then
            tar -xOf "$file" repotag >>"$FAKE_STATE/images"
            : >"$FAKE_STATE/plain-tar"
        else
            echo "! Failed to load image: not a tar" >&2
        fi
        exit 0 ;;
    "image ls")
        mode=$(cat "$FAKE_STATE/ls-mode" 2>/dev/null || echo full)
        echo "registry.k8s.io/pause:3.10"
        [ -f "$FAKE_STATE/images" ] || exit 0
        while read -r img; do
            case $mode in
                full) echo "$img" ;;
                short) s=\${img#docker.io/}; echo "\${s#library/}" ;;
                suffixed) echo "$img-distroless" ;;
                given) ;;
                none) ;;
            esac
        done <"$FAKE_STATE/images"
        if [ "$mode" = given ]; then cat "$FAKE_STATE/ls-given"; fi
        ;;
    "image rm") exit 0 ;;
    *) echo "fake minikube: unexpected $*" >&2; exit 99 ;;
esac`;

beforeEach(() => {
    bin = createFakeBin({ docker: DOCKER, minikube: MINIKUBE });
    archiveDir = path.join(bin.workDir, "image archives");
});

afterEach(() => bin.cleanup());

/** A small real tar standing in for `docker save IMAGE`, saved where the fake docker prints it from. */
function imageTar(image: string): Buffer {
    const src = fs.mkdtempSync(path.join(bin.workDir, "tarsrc-"));
    fs.writeFileSync(path.join(src, "repotag"), `${image}\n`);
    fs.writeFileSync(path.join(src, "layer.bin"), Buffer.alloc(4096, 7));
    const tar = path.join(bin.stateDir, "image.tar");
    execFileSync("tar", ["-cf", tar, "-C", src, "repotag", "layer.bin"]);
    fs.rmSync(src, { recursive: true });
    return fs.readFileSync(tar);
}

function state(name: string, content = ""): void {
    fs.writeFileSync(path.join(bin.stateDir, name), content);
}

function preloadEnv(image: string, overrides: Record<string, string> = {}) {
    return {
        PRELOAD_IMAGE: image,
        IMAGE_ARCHIVE_DIR: archiveDir,
        IMAGE_ARCHIVE_FILE: imageArchiveFileName(image),
        MINIKUBE_PROFILE: PROFILE,
        ...overrides,
    };
}

const preload = (image: string, overrides: Record<string, string> = {}) =>
    runScript(PRELOAD, { fakeBin: bin, env: preloadEnv(image, overrides) });

function xzDecompress(file: string): Buffer {
    return execFileSync("xz", ["-dc", file], { maxBuffer: 64 * 1024 * 1024 });
}

describe("image-preload.sh", () => {
    test("compression runs on one thread: nine loads side by side must not start a thread per core each", () => {
        imageTar(PILOT);
        // A recording xz in front of the real one.
        bin.add("xz", 'exec /usr/bin/xz "$@"');
        const result = preload(PILOT);
        expect(result.code).toBe(0);
        const compress = bin.callsOf("xz").filter((args) => !args.includes("-d") && !args.includes("-dc"));
        expect(compress).toEqual([["-T1", "-c"]]);
    });

    test("no archive: pulls and saves the exact image, writes a real .tar.xz, loads a plain tar into the profile", () => {
        const tar = imageTar(PILOT);
        const result = preload(PILOT);
        expect(result.stderr).not.toMatch(/istio-minikube:/);
        expect(result.code).toBe(0);
        expect(result.stdout).toBe("");
        expect(bin.callsOf("docker")).toEqual([
            ["pull", PILOT],
            ["save", PILOT],
        ]);

        const archive = path.join(archiveDir, "docker.io+istio+pilot=1.30.3.tar.xz");
        expect(fs.readdirSync(archiveDir)).toEqual([path.basename(archive)]);
        execFileSync("xz", ["-t", archive]);
        expect(xzDecompress(archive).equals(tar)).toBe(true);

        const loads = bin.callsOf("minikube").filter((args) => args[1] === "load");
        expect(loads).toHaveLength(1);
        const [, , profile, file] = loads[0];
        expect(profile).toBe(`--profile=${PROFILE}`);
        expect(loads[0]).toHaveLength(4);
        // The loaded file was the decompressed tar in a temp folder inside the archive folder, now gone.
        expect(path.dirname(path.dirname(file))).toBe(archiveDir);
        // Named after the image: minikube copies it to /var/lib/minikube/images/<name> on the node, where
        // loads running side by side must not overwrite each other.
        expect(path.basename(file)).toBe("docker.io+istio+pilot=1.30.3.tar");
        expect(fs.existsSync(file)).toBe(false);
        expect(fs.existsSync(path.join(bin.stateDir, "plain-tar"))).toBe(true);
        expect(fs.readFileSync(path.join(bin.stateDir, "loaded.tar")).equals(tar)).toBe(true);

        // Then it looked, in the same profile.
        expect(bin.callsOf("minikube")).toContainEqual(["image", "ls", `--profile=${PROFILE}`, "--format=short"]);
        expect(result.stderr).toContain(`Loaded ${PILOT} into minikube profile '${PROFILE}'.`);
    });

    test("archive present: no docker call at all, the archive is loaded as it is", () => {
        const tar = imageTar(PILOT);
        fs.mkdirSync(archiveDir, { recursive: true });
        const archive = path.join(archiveDir, imageArchiveFileName(PILOT));
        fs.writeFileSync(archive, execFileSync("xz", ["-c"], { input: tar }));
        const before = fs.readFileSync(archive);
        fs.rmSync(path.join(bin.stateDir, "image.tar")); // a docker save now could not even produce it
        bin.add("docker", `echo "docker must not run: $*" >&2; exit 99`);

        const result = preload(PILOT);
        expect(result.code).toBe(0);
        expect(result.calls.filter((c) => c.tool === "docker")).toEqual([]);
        expect(result.stderr).toContain(`Reusing ${archive}`);
        expect(bin.callsOf("minikube").filter((args) => args[1] === "load")).toHaveLength(1);
        expect(fs.readFileSync(path.join(bin.stateDir, "loaded.tar")).equals(tar)).toBe(true);
        expect(fs.readFileSync(archive).equals(before)).toBe(true);
        expect(fs.readdirSync(archiveDir)).toEqual([path.basename(archive)]);
    });

    test("a second run reuses what the first saved", () => {
        imageTar(PILOT);
        expect(preload(PILOT).code).toBe(0);
        const second = preload(PILOT);
        expect(second.code).toBe(0);
        expect(second.calls.filter((c) => c.tool === "docker")).toEqual([]);
        expect(bin.callsOf("docker")).toHaveLength(2);
    });

    test("image ls not listing the image after load (load exited 0): fails clearly, archive kept, no temp files", () => {
        imageTar(PILOT);
        state("ls-mode", "none");
        const result = preload(PILOT);
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`${PILOT} is not in minikube profile '${PROFILE}' after loading`);
        expect(result.stderr).toContain(`minikube image ls -p ${PROFILE}`);
        expect(fs.readdirSync(archiveDir)).toEqual([imageArchiveFileName(PILOT)]);
    });

    test("a load that was not a plain tar shows up as not loaded", () => {
        // An archive that is xz but holds no tar: the fake load refuses it (exit 0, like minikube), ls says no.
        imageTar(PILOT);
        fs.mkdirSync(archiveDir, { recursive: true });
        fs.writeFileSync(path.join(archiveDir, imageArchiveFileName(PILOT)), execFileSync("xz", ["-c"], { input: "not a tar" }));
        const result = preload(PILOT);
        expect(result.code).not.toBe(0);
        expect(fs.existsSync(path.join(bin.stateDir, "plain-tar"))).toBe(false);
        expect(result.stderr).toContain("is not in minikube profile");
    });

    test.each([
        ["docker.io/istio/pilot:1.30.3", "istio/pilot:1.30.3"],
        ["docker.io/library/nginx:latest", "nginx:latest"],
    ])("ls listing the short form is accepted: %s as %s", (image, short) => {
        imageTar(image);
        state("ls-mode", "short");
        const result = preload(image);
        expect(result.code).toBe(0);
        const ls = execFileSync(path.join(bin.dir, "minikube"), ["image", "ls", `--profile=${PROFILE}`, "--format=short"]).toString();
        expect(ls.split("\n")).toContain(short);
        expect(ls.split("\n")).not.toContain(image);
    });

    test("an image listed first in a long list is found (grep stopping early does not fail the run)", () => {
        // A CI run failed "a second run reuses what the first saved" once: grep -q quit at the match, the
        // rest of the list met a closed pipe, and pipefail counted the SIGPIPE. A busy node's list is long.
        imageTar(PILOT);
        state("ls-mode", "given");
        const others = Array.from({ length: 20000 }, (_, i) => `registry.example/team/app-${i}:v${i}`);
        state("ls-given", [PILOT, ...others].join("\n") + "\n");
        const result = preload(PILOT);
        expect(result.stderr).not.toMatch(/istio-minikube:/);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain(`Loaded ${PILOT} into minikube profile '${PROFILE}'.`);
    });

    test("image ls itself failing is reported as that, not as a missing image", () => {
        imageTar(PILOT);
        state("ls-mode", "given");
        state("ls-given", `${PILOT}\n`);
        bin.add("minikube", `if [ "$1 $2" = "image ls" ]; then echo "X Exiting due to GUEST_STATUS" >&2; exit 80; fi\nexit 0`);
        const result = preload(PILOT);
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`'minikube image ls -p ${PROFILE}' failed after loading`);
        expect(result.stderr).not.toContain("is not in minikube profile");
    });

    test("a name that only starts like the image is not taken for it", () => {
        imageTar(PILOT);
        state("ls-mode", "suffixed");
        const result = preload(PILOT);
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain("is not in minikube profile");
    });

    test.each(["istio/pilot:1.30.3", "nginx", "library/foo/bar:1", "gcr.io/library/x:2", "localhost:5000/app:dev", `nginx@sha256:${"ab".repeat(32)}`])(
        "ls listing Docker's familiar form of %s (familiarImage) is accepted",
        (written) => {
            const image = canonicalImage(written);
            imageTar(image);
            state("ls-mode", "given");
            state("ls-given", `${familiarImage(image)}\n`);
            const result = preload(image);
            expect(result.stderr).not.toMatch(/istio-minikube:/);
            expect(result.code).toBe(0);
        },
    );

    test("docker.io/library/foo/bar is not taken as loaded when only foo/bar (another image) is listed", () => {
        // Docker drops "library/" only when nothing is nested under it (familiarImage): foo/bar:1 is
        // docker.io/foo/bar:1, a different repository.
        const image = canonicalImage("library/foo/bar:1");
        expect(image).toBe("docker.io/library/foo/bar:1");
        expect(familiarImage(image)).toBe("library/foo/bar:1");
        imageTar(image);
        state("ls-mode", "given");
        state("ls-given", "foo/bar:1\ndocker.io/foo/bar:1\n");
        const result = preload(image);
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`${image} is not in minikube profile`);
    });

    test.each(["sub/x.tar.xz", "../x.tar.xz", "..", ".hidden.tar.xz", "a..b.tar.xz", "/abs.tar.xz"])(
        "IMAGE_ARCHIVE_FILE %p is refused before anything runs",
        (file) => {
            imageTar(PILOT);
            const result = preload(PILOT, { IMAGE_ARCHIVE_FILE: file });
            expect(result.code).not.toBe(0);
            expect(result.stderr).toContain("IMAGE_ARCHIVE_FILE must be a bare file name");
            expect(result.calls).toEqual([]);
            expect(fs.existsSync(archiveDir)).toBe(false);
        },
    );

    test.each(["PRELOAD_IMAGE", "IMAGE_ARCHIVE_DIR", "IMAGE_ARCHIVE_FILE", "MINIKUBE_PROFILE"])("%s missing is refused", (name) => {
        const result = preload(PILOT, { [name]: "" });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(`${name} is not set`);
        expect(result.calls).toEqual([]);
    });

    test("a failed pull leaves no archive and no temp files", () => {
        imageTar(PILOT);
        state("pull-fails");
        const result = preload(PILOT);
        expect(result.code).not.toBe(0);
        expect(bin.callsOf("docker")).toEqual([["pull", PILOT]]);
        expect(bin.callsOf("minikube")).toEqual([]);
        expect(fs.readdirSync(archiveDir)).toEqual([]);
    });

    test("a failed save (half a tar, then an error) leaves no archive and no temp files", () => {
        imageTar(PILOT);
        state("save-fails");
        const result = preload(PILOT);
        expect(result.code).not.toBe(0);
        expect(bin.callsOf("minikube")).toEqual([]);
        expect(fs.readdirSync(archiveDir)).toEqual([]);
    });

    test("a damaged archive is not loaded", () => {
        fs.mkdirSync(archiveDir, { recursive: true });
        const archive = path.join(archiveDir, imageArchiveFileName(PILOT));
        fs.writeFileSync(archive, "garbage, not xz");
        const result = preload(PILOT);
        expect(result.code).not.toBe(0);
        expect(bin.callsOf("minikube")).toEqual([]);
        expect(fs.readdirSync(archiveDir)).toEqual([path.basename(archive)]);
    });

    test("other files in the archive folder are left alone", () => {
        imageTar(PILOT);
        fs.mkdirSync(archiveDir, { recursive: true });
        fs.writeFileSync(path.join(archiveDir, "docker.io+library+nginx=latest.tar.xz"), "other");
        expect(preload(PILOT).code).toBe(0);
        expect(fs.readdirSync(archiveDir).sort()).toEqual(["docker.io+istio+pilot=1.30.3.tar.xz", "docker.io+library+nginx=latest.tar.xz"]);
    });

    test("an archive folder path with spaces and $(...) is used literally", () => {
        imageTar(PILOT);
        archiveDir = path.join(bin.workDir, "a $(touch pwned) `touch pwned2` dir");
        const result = runScript(PRELOAD, { fakeBin: bin, env: preloadEnv(PILOT), cwd: bin.stateDir });
        expect(result.code).toBe(0);
        expect(fs.readdirSync(archiveDir)).toEqual([imageArchiveFileName(PILOT)]);
        expect(fs.existsSync(path.join(bin.stateDir, "pwned"))).toBe(false);
        expect(fs.existsSync(path.join(bin.stateDir, "pwned2"))).toBe(false);
    });
});

describe("image-remove.sh", () => {
    const remove = (image = PILOT) =>
        runScript(REMOVE, { fakeBin: bin, env: { PRELOAD_IMAGE: image, MINIKUBE_PROFILE: PROFILE } });

    function withArchive(): string {
        fs.mkdirSync(archiveDir, { recursive: true });
        const archive = path.join(archiveDir, imageArchiveFileName(PILOT));
        fs.writeFileSync(archive, "kept");
        return archive;
    }

    test("running profile: image rm --profile=<p> <image>; the archive stays", () => {
        const archive = withArchive();
        const result = remove();
        expect(result.code).toBe(0);
        expect(bin.callsOf("minikube")).toEqual([
            ["status", `--profile=${PROFILE}`, "--output=json"],
            ["image", "rm", `--profile=${PROFILE}`, PILOT],
        ]);
        expect(fs.readFileSync(archive, "utf8")).toBe("kept");
    });

    test("profile gone (status exits 85): succeeds without calling rm", () => {
        const archive = withArchive();
        state("status-code", "85");
        const result = remove();
        expect(result.code).toBe(0);
        expect(bin.callsOf("minikube")).toEqual([["status", `--profile=${PROFILE}`, "--output=json"]]);
        expect(result.stderr).toContain("is gone");
        expect(fs.existsSync(archive)).toBe(true);
    });

    test("profile stopped (status exits 7): succeeds without calling rm", () => {
        const archive = withArchive();
        state("status-code", "7");
        const result = remove();
        expect(result.code).toBe(0);
        expect(bin.callsOf("minikube")).toEqual([["status", `--profile=${PROFILE}`, "--output=json"]]);
        expect(result.stderr).toContain("is not running");
        expect(fs.existsSync(archive)).toBe(true);
    });

    test("a failing image rm on a running profile fails the delete", () => {
        bin.add("minikube", `case "$1" in status) exit 0 ;; image) echo "rm failed" >&2; exit 1 ;; esac`);
        const result = remove();
        expect(result.code).not.toBe(0);
        expect(bin.callsOf("minikube").map((args) => args.slice(0, 2))).toEqual([["status", "--profile=mesh lab"], ["image", "rm"]]);
    });

    test("the image name is passed as one argument, never interpreted", () => {
        const odd = "docker.io/x/y:1 $(touch pwned)";
        const result = runScript(REMOVE, { fakeBin: bin, env: { PRELOAD_IMAGE: odd, MINIKUBE_PROFILE: PROFILE }, cwd: bin.stateDir });
        expect(result.code).toBe(0);
        expect(bin.callsOf("minikube")[1]).toEqual(["image", "rm", `--profile=${PROFILE}`, odd]);
        expect(fs.existsSync(path.join(bin.stateDir, "pwned"))).toBe(false);
    });
});
