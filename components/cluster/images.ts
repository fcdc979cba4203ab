import { createHash } from "crypto";

// Image references, parsed and normalised once, so that `docker.io/istio/pilot:1.2.3`, `istio/pilot:1.2.3`
// and `index.docker.io/istio/pilot:1.2.3` are one image everywhere: in the preload list, in the archive
// file name, in what is loaded into minikube and in what the manifests ask for (the blog's hand edit).
//
// Grammar and defaults follow the reference package Docker and containerd share
// (github.com/distribution/reference: reference.go regexp grammar, normalize.go splitDockerDomain):
// the first path element is a registry when it has a '.' or ':' or is "localhost"; otherwise the
// registry is docker.io, and a single-element docker.io path gets the "library/" prefix; no tag and no
// digest means ":latest".

export interface ImageReference {
    /** Registry host, with port if any: "docker.io", "gcr.io", "localhost:5000". */
    readonly registry: string;
    /** Repository path without the registry: "istio/pilot", "library/nginx". */
    readonly repository: string;
    readonly tag?: string;
    readonly digest?: string;
}

const DEFAULT_REGISTRY = "docker.io";
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;
const MAX_NAME_LENGTH = 255;
const MAX_FILE_NAME = 255;

export class ImageReferenceError extends Error {}

export function parseImageReference(text: string): ImageReference {
    const fail = (why: string): never => {
        throw new ImageReferenceError(why);
    };
    if (text.length === 0) fail("it is empty");

    let rest = text;
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
        if (!DIGEST.test(digest)) fail(`${JSON.stringify(digest)} is not a digest such as sha256:<64 hex digits>`);
    }

    let tag: string | undefined;
    const lastColon = rest.lastIndexOf(":");
    if (lastColon > rest.lastIndexOf("/")) {
        tag = rest.slice(lastColon + 1);
        rest = rest.slice(0, lastColon);
        if (!TAG.test(tag)) fail(`${JSON.stringify(tag)} is not a tag (letters, digits, '_', '.', '-'; at most 128)`);
    }

    const slash = rest.indexOf("/");
    const first = slash >= 0 ? rest.slice(0, slash) : "";
    const hasRegistry = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
    let registry = hasRegistry ? first : DEFAULT_REGISTRY;
    let repository = hasRegistry ? rest.slice(slash + 1) : rest;

    if (!DOMAIN.test(registry)) fail(`${JSON.stringify(registry)} is not a registry host`);
    if (repository.length === 0) fail("it has no repository name");
    for (const part of repository.split("/")) {
        if (!PATH_COMPONENT.test(part)) {
            fail(`${JSON.stringify(part)} is not a repository path element (lowercase letters, digits, single separators . _ __ -)`);
        }
    }
    if (registry === "index.docker.io") registry = DEFAULT_REGISTRY;
    if (registry === DEFAULT_REGISTRY && !repository.includes("/")) repository = `library/${repository}`;
    if (`${registry}/${repository}`.length > MAX_NAME_LENGTH) fail(`the name is longer than ${MAX_NAME_LENGTH} characters`);

    if (tag === undefined && digest === undefined) tag = "latest";
    return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

function suffix(ref: ImageReference): string {
    return `${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** The fully qualified form every component compares: `docker.io/library/nginx:latest`. */
export function canonicalImage(text: string): string {
    const ref = parseImageReference(text);
    return `${ref.registry}/${ref.repository}${suffix(ref)}`;
}

/** The short form Docker prints (`nginx:latest`, `istio/pilot:1.2.3`, `gcr.io/x/y:1`). */
export function familiarImage(text: string): string {
    const ref = parseImageReference(text);
    if (ref.registry !== DEFAULT_REGISTRY) return `${ref.registry}/${ref.repository}${suffix(ref)}`;
    // Like Docker (distribution/reference normalize.go familiarizeName): "library/" goes only when nothing is nested under it.
    const official = ref.repository.startsWith("library/") ? ref.repository.slice("library/".length) : undefined;
    const repository = official !== undefined && !official.includes("/") ? official : ref.repository;
    return `${repository}${suffix(ref)}`;
}

/**
 * A file name for the image's archive that can never leave the archive folder and never collides: the
 * canonical name with '/' as '+' and ':' as '=' (neither can occur in a reference), so
 * `docker.io/istio/pilot:1.2.3` becomes `docker.io+istio+pilot=1.2.3.tar.xz`. A name past what file
 * systems take (255 bytes) keeps its start and gets a hash of the whole reference instead of its end.
 */
export function imageArchiveFileName(text: string): string {
    const name = canonicalImage(text).replace(/\//g, "+").replace(/:/g, "=");
    const suffix = ".tar.xz";
    if (name.length + suffix.length <= MAX_FILE_NAME) return `${name}${suffix}`;
    const hash = createHash("sha256").update(canonicalImage(text)).digest("hex").slice(0, 16);
    return `${name.slice(0, MAX_FILE_NAME - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

/** Canonical, de-duplicated and sorted, so the same set of images always gives the same list. */
export function uniqueImages(images: readonly string[]): string[] {
    return [...new Set(images.map(canonicalImage))].sort();
}
