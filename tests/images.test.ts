// Image references: one canonical form everywhere (preload list, archive file name, what minikube loads,
// what the manifests ask for). Defaults follow github.com/distribution/reference (normalize.go).
import * as path from "path";
import {
    ImageReferenceError,
    canonicalImage,
    familiarImage,
    imageArchiveFileName,
    parseImageReference,
    uniqueImages,
} from "../components/cluster/images";

const SHA = "sha256:" + "0123456789abcdef".repeat(4);

// [as written, canonical, familiar (Docker's short form)]
const TABLE: Array<[string, string, string]> = [
    ["istio/pilot:1.30.3", "docker.io/istio/pilot:1.30.3", "istio/pilot:1.30.3"],
    ["docker.io/istio/pilot:1.30.3", "docker.io/istio/pilot:1.30.3", "istio/pilot:1.30.3"],
    ["index.docker.io/istio/pilot:1.30.3", "docker.io/istio/pilot:1.30.3", "istio/pilot:1.30.3"],
    ["istio/proxyv2:1.30.3", "docker.io/istio/proxyv2:1.30.3", "istio/proxyv2:1.30.3"],
    ["nginx", "docker.io/library/nginx:latest", "nginx:latest"],
    ["nginx:1.27", "docker.io/library/nginx:1.27", "nginx:1.27"],
    ["library/nginx:1.27", "docker.io/library/nginx:1.27", "nginx:1.27"],
    ["docker.io/library/nginx", "docker.io/library/nginx:latest", "nginx:latest"],
    ["docker.io/nginx:1.27", "docker.io/library/nginx:1.27", "nginx:1.27"],
    ["index.docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27", "nginx:1.27"],
    ["localhost:5000/app:dev", "localhost:5000/app:dev", "localhost:5000/app:dev"],
    ["localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest"],
    ["localhost/app", "localhost/app:latest", "localhost/app:latest"],
    ["localhost", "docker.io/library/localhost:latest", "localhost:latest"],
    [
        "registry.istio.io/release/examples-bookinfo-details-v1:1.20.3",
        "registry.istio.io/release/examples-bookinfo-details-v1:1.20.3",
        "registry.istio.io/release/examples-bookinfo-details-v1:1.20.3",
    ],
    [`gcr.io/x/y@${SHA}`, `gcr.io/x/y@${SHA}`, `gcr.io/x/y@${SHA}`],
    [`gcr.io/x/y:1.0@${SHA}`, `gcr.io/x/y:1.0@${SHA}`, `gcr.io/x/y:1.0@${SHA}`],
    [`nginx@${SHA}`, `docker.io/library/nginx@${SHA}`, `nginx@${SHA}`],
    [`istio/pilot:1.30.3@${SHA}`, `docker.io/istio/pilot:1.30.3@${SHA}`, `istio/pilot:1.30.3@${SHA}`],
    ["curlimages/curl:8.16.0", "docker.io/curlimages/curl:8.16.0", "curlimages/curl:8.16.0"],
    ["docker.io/curlimages/curl:8.16.0", "docker.io/curlimages/curl:8.16.0", "curlimages/curl:8.16.0"],
    ["quay.io/prometheus/node-exporter:v1.9.1", "quay.io/prometheus/node-exporter:v1.9.1", "quay.io/prometheus/node-exporter:v1.9.1"],
    ["ghcr.io/org/team/sub/app:2", "ghcr.io/org/team/sub/app:2", "ghcr.io/org/team/sub/app:2"],
    ["my-registry.example.com:443/team/app_name__x:1.0-rc.1", "my-registry.example.com:443/team/app_name__x:1.0-rc.1", "my-registry.example.com:443/team/app_name__x:1.0-rc.1"],
    ["127.0.0.1:5000/a.b/c-d:X_1", "127.0.0.1:5000/a.b/c-d:X_1", "127.0.0.1:5000/a.b/c-d:X_1"],
    ["a/b_c:1", "docker.io/a/b_c:1", "a/b_c:1"],
    ["a/b:c_1", "docker.io/a/b:c_1", "a/b:c_1"],
    // Docker keeps "library/" when the official namespace is nested (normalize.go familiarizeName).
    ["docker.io/library/a/b:1", "docker.io/library/a/b:1", "library/a/b:1"],
];

describe("normalisation", () => {
    test.each(TABLE)("%s → %s", (written, canonical) => {
        expect(canonicalImage(written)).toBe(canonical);
    });

    test.each(TABLE)("familiar form of %s is %s's short form %s", (written, _canonical, familiar) => {
        expect(familiarImage(written)).toBe(familiar);
    });

    test.each(TABLE)("%s round trips through its familiar form", (written, canonical) => {
        expect(canonicalImage(familiarImage(written))).toBe(canonical);
        expect(familiarImage(familiarImage(written))).toBe(familiarImage(written));
        expect(canonicalImage(canonical)).toBe(canonical);
    });

    test("parts of a reference", () => {
        expect(parseImageReference("localhost:5000/team/app:dev")).toEqual({ registry: "localhost:5000", repository: "team/app", tag: "dev" });
        expect(parseImageReference("nginx")).toEqual({ registry: "docker.io", repository: "library/nginx", tag: "latest" });
        expect(parseImageReference(`gcr.io/x/y@${SHA}`)).toEqual({ registry: "gcr.io", repository: "x/y", digest: SHA });
        expect(parseImageReference(`gcr.io/x/y:1@${SHA}`)).toEqual({ registry: "gcr.io", repository: "x/y", tag: "1", digest: SHA });
        // A digest alone means no tag: ":latest" is only the default when neither is given.
        expect(parseImageReference(`nginx@${SHA}`)).not.toHaveProperty("tag");
    });

    test("a tag of 128 characters and a name of 255 are the limits", () => {
        expect(canonicalImage(`nginx:${"t".repeat(128)}`)).toBe(`docker.io/library/nginx:${"t".repeat(128)}`);
        const name = `docker.io/x/${"a".repeat(243)}`; // 255 with the registry
        expect(canonicalImage(name)).toBe(`${name}:latest`);
    });
});

describe("archive file names", () => {
    const ARCHIVE_DIR = "/var/cache/images";

    test("the documented example", () => {
        expect(imageArchiveFileName("istio/pilot:1.30.3")).toBe("docker.io+istio+pilot=1.30.3.tar.xz");
        expect(imageArchiveFileName("localhost:5000/app:dev")).toBe("localhost=5000+app=dev.tar.xz");
    });

    test.each(TABLE)("the archive name of %s stays in the archive folder", (written) => {
        const name = imageArchiveFileName(written);
        expect(name).not.toContain("/");
        expect(name).not.toContain("..");
        expect(name).not.toContain("\0");
        expect(name).toMatch(/\.tar\.xz$/);
        expect(name).toMatch(/^[A-Za-z0-9]/);
        expect(path.dirname(path.resolve(ARCHIVE_DIR, name))).toBe(ARCHIVE_DIR);
        expect(path.basename(name)).toBe(name);
    });

    test("a tag with '..' still gives a plain file name inside the folder", () => {
        const name = imageArchiveFileName("a/b:1..2");
        expect(name).toBe("docker.io+a+b=1..2.tar.xz");
        expect(path.dirname(path.resolve(ARCHIVE_DIR, name))).toBe(ARCHIVE_DIR);
    });

    test("every written form of one image gives one name", () => {
        const forms = ["istio/pilot:1.30.3", "docker.io/istio/pilot:1.30.3", "index.docker.io/istio/pilot:1.30.3"];
        expect(new Set(forms.map(imageArchiveFileName)).size).toBe(1);
        expect(new Set(["nginx", "library/nginx", "docker.io/library/nginx:latest", "nginx:latest"].map(imageArchiveFileName)).size).toBe(1);
    });

    test("distinct images give distinct names, near collisions included", () => {
        const images = [
            ...TABLE.map(([written]) => written),
            "a/b_c:1",
            "a/b:c_1",
            "a/b.c:1",
            "a/b:c.1",
            "a/b-c:1",
            "a/b:c-1",
            "a/b/c:1",
            "a/b_c",
            "a_b/c",
            "a/b__c:1",
            "localhost:5000/a",
            "localhost/5000/a",
            "localhost:5000/a:b",
            "a.io/b:c",
            "a.io:5000/b",
            `gcr.io/x/y:${SHA.slice(7, 39)}`,
            `gcr.io/x/y@${SHA}`,
        ];
        const canonical = new Set(images.map(canonicalImage));
        const names = new Set(images.map(imageArchiveFileName));
        expect(names.size).toBe(canonical.size);
        expect(canonical.size).toBeGreaterThan(TABLE.length);
    });
});

describe("uniqueImages", () => {
    test("canonicalises, de-duplicates and sorts", () => {
        const input = [
            "nginx",
            "istio/pilot:1.30.3",
            "docker.io/library/nginx:latest",
            "index.docker.io/istio/pilot:1.30.3",
            "curlimages/curl:8.16.0",
            "registry.istio.io/release/examples-bookinfo-details-v1:1.20.3",
            "nginx:latest",
        ];
        const expected = [
            "docker.io/curlimages/curl:8.16.0",
            "docker.io/istio/pilot:1.30.3",
            "docker.io/library/nginx:latest",
            "registry.istio.io/release/examples-bookinfo-details-v1:1.20.3",
        ];
        expect(uniqueImages(input)).toEqual(expected);
        expect(uniqueImages([...input].reverse())).toEqual(expected);
        expect(input[0]).toBe("nginx"); // input untouched
    });

    test("empty in, empty out; a bad element throws", () => {
        expect(uniqueImages([])).toEqual([]);
        expect(() => uniqueImages(["nginx", "Bad/Image"])).toThrow(ImageReferenceError);
    });
});

describe("rejections", () => {
    test.each([
        ["Nginx", "uppercase repository"],
        ["UPPER/x", "uppercase first element (not a registry: no '.' or ':')"],
        ["istio/Pilot:1.30.3", "uppercase path element"],
        ["", "empty"],
        [":tag", "tag only"],
        [":", "colon only"],
        ["nginx:", "empty tag"],
        ["a//b", "empty path element"],
        ["a/", "trailing slash"],
        ["/a", "leading slash"],
        ["gcr.io/", "registry only"],
        ["nginx 1.27", "space"],
        [" nginx", "leading space"],
        ["nginx:1.27 ", "trailing space"],
        ["nginx\n", "newline"],
        ["nginx;id", "semicolon"],
        ["nginx:1$(id)", "command substitution in tag"],
        ["$(id)/x", "command substitution in name"],
        ["`id`", "backticks"],
        ["nginx|id", "pipe"],
        ["nginx&&id", "and"],
        ["nginx'", "quote"],
        ["-nginx", "leading dash"],
        ["nginx-", "trailing dash"],
        ["a___b", "three underscores"],
        ["a..b", "double dot"],
        ["../x", "parent directory"],
        ["a/../b", "parent directory inside"],
        ["./x", "current directory"],
        [`nginx:${"t".repeat(129)}`, "tag longer than 128"],
        ["nginx:-x", "tag starting with '-'"],
        ["nginx:.x", "tag starting with '.'"],
        ["nginx@sha256:xyz", "digest not hex"],
        ["nginx@sha256:abc123", "digest too short"],
        ["nginx@sha256", "digest without algorithm separator"],
        ["nginx@", "empty digest"],
        [`nginx@:${SHA.slice(7)}`, "digest without algorithm"],
        [`nginx@1sha:${SHA.slice(7)}`, "algorithm starting with a digit"],
        [`@${SHA}`, "digest only"],
        ["bad_host.io/x", "underscore in registry"],
        ["-bad.io/x", "registry starting with '-'"],
        ["host.io:port/x", "port not a number"],
        [`docker.io/x/${"a".repeat(244)}`, "name longer than 255"],
        [`${"a".repeat(247)}`, "name longer than 255 once docker.io/library/ is added"],
    ])("%j is rejected (%s)", (text) => {
        expect(() => parseImageReference(text)).toThrow(ImageReferenceError);
        expect(() => canonicalImage(text)).toThrow(ImageReferenceError);
        expect(() => imageArchiveFileName(text)).toThrow(ImageReferenceError);
    });

    test("error messages show the offending part escaped, never a raw control character", () => {
        for (const text of ["istio/\npilot:1", "nginx:1\r2", "a/\u0000b", "x@sha256:\t"]) {
            let message = "";
            try {
                parseImageReference(text);
            } catch (err) {
                message = (err as Error).message;
            }
            expect(message).not.toBe("");
            expect(message).not.toMatch(/[\0-\x1f]/);
        }
    });
});

describe("archive names of very long references", () => {
    test("stay within 255 bytes, inside the folder, and distinct", () => {
        const long = (tag: string) => `registry.example.com/${"a".repeat(120)}/${"b".repeat(100)}:${tag}`;
        const a = imageArchiveFileName(long("1"));
        const b = imageArchiveFileName(long("2"));
        expect(Buffer.byteLength(a)).toBeLessThanOrEqual(255);
        expect(a).not.toContain("/");
        expect(a.endsWith(".tar.xz")).toBe(true);
        expect(a).not.toBe(b);
        expect(imageArchiveFileName(long("1"))).toBe(a);
    });
});
