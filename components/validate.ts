// Small, pure validators used by the stack config parser. Each returns undefined when the value is fine,
// or a phrase saying what is allowed; the parser adds the key and the value. Every check is an allow-list,
// so shell metacharacters, control characters and option-like values ('-x') never get through.

export function describeValue(value: unknown): string {
    if (value === undefined) return "(missing)";
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export type Check = (value: string) => string | undefined;

/** Kubernetes namespace and label-value style name (RFC 1123 label). */
export const dnsLabel: Check = (value) =>
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value) && value.length <= 63
        ? undefined
        : "a lowercase RFC 1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit, at most 63 characters";

// minikube's own rule (pkg/minikube/config/profile.go ProfileNameValid, v1.38.1): dot-separated labels of
// letters, digits and '-', each starting and ending with a letter or digit, at least 2 characters. minikube
// sets no maximum; we cap at 63 so container, VM and libvirt network names (`mk-<profile>`) stay valid.
const MINIKUBE_PROFILE_PATTERN = /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;

// Names minikube refuses as profiles, compared case-insensitively (pkg/minikube/config/profile.go keywords,
// ProfileNameInReservedKeywords, checked by cmd/minikube/cmd/start.go validateProfileName).
export const MINIKUBE_RESERVED_PROFILES = ["start", "stop", "status", "delete", "config", "open", "profile", "addons", "cache", "logs"] as const;

export const minikubeProfile: Check = (value) => {
    if (!(MINIKUBE_PROFILE_PATTERN.test(value) && value.length >= 2 && value.length <= 63)) {
        return "a minikube profile name: 2 to 63 letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";
    }
    if ((MINIKUBE_RESERVED_PROFILES as readonly string[]).includes(value.toLowerCase())) {
        return `a minikube profile name other than minikube's own words (${MINIKUBE_RESERVED_PROFILES.join(", ")})`;
    }
    return undefined;
};

/** Context names from other tools look like `gke_p_z_c`, `arn:aws:eks:r:a:cluster/c` or `user@cluster`. */
export const kubeContext: Check = (value) =>
    /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,252}$/.test(value)
        ? undefined
        : "a kubeconfig context name: letters, digits and . _ : / @ -, starting with a letter or digit";

export const semver: Check = (value) =>
    /^\d+\.\d+\.\d+(-(alpha|beta|rc)\.\d+)?$/.test(value)
        ? undefined
        : "a release version such as 1.27.3 (or 1.28.0-beta.1)";

export const kubernetesVersion: Check = (value) =>
    /^v\d+\.\d+\.\d+$/.test(value) ? undefined : "a Kubernetes version such as v1.33.1 (with the leading 'v')";

/**
 * A local path that is passed to scripts through the environment. Scripts quote it, but we still refuse
 * characters no sane path needs, so the value can be shown and reused in a terminal without surprise.
 * A leading `~/` means the home directory.
 */
export const localPath: Check = (value) => {
    if (value.length === 0 || value.length > 1024) return "a path of 1 to 1024 characters";
    const body = value.startsWith("~/") ? value.slice(2) : value;
    return /^[A-Za-z0-9._/+@-]+$/.test(body) && !body.startsWith("-")
        ? undefined
        : "a local path of letters, digits and . _ / + @ - (optionally starting with ~/), not starting with '-'";
};
