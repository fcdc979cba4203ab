// The stack's one root of trust, as a Pulumi dynamic resource: a root CA; an intermediate CA that istiod
// uses to sign workload certificates (Istio's plug-in CA); and the serving certificate istiod presents for
// /inject (and its other TLS ports). Generated once and kept in state, so runs without changes change
// nothing; raising `rotation` or changing names or validity generates a new set.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as forge from "node-forge";

export interface MeshCertificatesInputs {
    /** Organisation in every subject; the stack name keeps two stacks' roots apart. */
    organization: string;
    /** DNS names of istiod's serving certificate. */
    servingDnsNames: string[];
    validityDays: number;
    /** Raising it replaces every certificate and key. */
    rotation: number;
}

export interface MeshCertificatesOutputs extends MeshCertificatesInputs {
    rootCertPem: string;
    intermediateCertPem: string;
    /** Secret. */
    intermediateKeyPem: string;
    /** Intermediate then root: what Istio's plug-in CA expects in cert-chain.pem. */
    certChainPem: string;
    servingCertPem: string;
    /** Secret. */
    servingKeyPem: string;
    notAfter: string;
}

/**
 * The certificates a stack gets: its name in every subject (two stacks' roots stay apart), istiod's
 * Service names in the serving certificate, and the config's validity and rotation.
 */
export function meshCertificateInputs(stack: string, certificates: { validityDays: number; rotation: number }, istioNamespace = "istio-system"): MeshCertificatesInputs {
    return {
        organization: `istio-minikube ${stack}`,
        servingDnsNames: ["istiod", `istiod.${istioNamespace}`, `istiod.${istioNamespace}.svc`],
        validityDays: certificates.validityDays,
        rotation: certificates.rotation,
    };
}

/** Inputs whose change means new certificates (all of them: none can be applied to an existing one). */
export const REPLACING_INPUTS: readonly (keyof MeshCertificatesInputs)[] = [
    "organization",
    "servingDnsNames",
    "validityDays",
    "rotation",
];

const HOUR_MS = 60 * 60 * 1000;
// node-forge takes the universal tag of the value here (lib/x509.js _dnToAsn1); its typings call it asn1.Class.
const UTF8_STRING = forge.asn1.Type.UTF8 as number as forge.asn1.Class;
const RSA_BITS = 2048;

function newKeyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
    // Node's native generator: node-forge's pure-JS RSA generation takes seconds per key.
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: RSA_BITS });
    const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }).toString());
    return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

/**
 * A certificate serial from 16 random bytes, as the hex node-forge writes verbatim as the DER INTEGER's
 * content. Go's crypto/x509 (istiod, kube-apiserver) refuses a serial that is not minimally encoded or is
 * negative: "x509: malformed serial number" (cryptobyte ReadASN1Integer; Go src/crypto/x509/parser.go).
 * So the top bit is cleared (positive) and the next one set (first byte never 0x00): 126 random bits.
 */
export function serialNumberFrom(random: Uint8Array): string {
    if (random.length !== 16) throw new Error(`serialNumberFrom needs 16 bytes, got ${random.length}`);
    const bytes = Buffer.from(random);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    return bytes.toString("hex");
}

function serialNumber(): string {
    return serialNumberFrom(crypto.randomBytes(16));
}

interface Issuer {
    cert: forge.pki.Certificate;
    key: forge.pki.rsa.PrivateKey;
}

function issue(opts: {
    commonName: string;
    organization: string;
    publicKey: forge.pki.rsa.PublicKey;
    issuer: Issuer | "self";
    selfKey?: forge.pki.rsa.PrivateKey;
    now: Date;
    validityDays: number;
    extensions: object[];
}): forge.pki.Certificate {
    const cert = forge.pki.createCertificate();
    cert.publicKey = opts.publicKey;
    cert.serialNumber = serialNumber();
    // An hour of slack for clocks that run behind (a VM's clock right after resume, say).
    cert.validity.notBefore = new Date(opts.now.getTime() - HOUR_MS);
    cert.validity.notAfter = new Date(opts.now.getTime() + opts.validityDays * 24 * HOUR_MS);
    // UTF8String, not node-forge's default PrintableString: PrintableString has no '_' (a Pulumi stack name
    // may), and Go's crypto/x509, which istiod and the API server parse with, rejects such a certificate
    // outright (Go src/crypto/x509/parser.go parseASN1String, isPrintable). RFC 5280 4.1.2.6 prefers UTF8String.
    const subject = [
        { name: "organizationName", value: opts.organization, valueTagClass: UTF8_STRING },
        { name: "commonName", value: opts.commonName, valueTagClass: UTF8_STRING },
    ];
    cert.setSubject(subject);
    cert.setIssuer(opts.issuer === "self" ? subject : opts.issuer.cert.subject.attributes);
    const extensions: object[] = [...opts.extensions, { name: "subjectKeyIdentifier" }];
    if (opts.issuer !== "self") {
        extensions.push({ name: "authorityKeyIdentifier", keyIdentifier: opts.issuer.cert.generateSubjectKeyIdentifier().getBytes() });
    }
    cert.setExtensions(extensions);
    const signingKey = opts.issuer === "self" ? opts.selfKey! : opts.issuer.key;
    cert.sign(signingKey, forge.md.sha256.create());
    return cert;
}

/** Generates the whole set. Pure apart from randomness and the clock; the tests call it directly. */
export function generateMeshCertificates(inputs: MeshCertificatesInputs, now: Date = new Date()): MeshCertificatesOutputs {
    const rootKeys = newKeyPair();
    const root = issue({
        commonName: "istio-minikube root CA",
        organization: inputs.organization,
        publicKey: rootKeys.publicKey,
        issuer: "self",
        selfKey: rootKeys.privateKey,
        now,
        validityDays: inputs.validityDays,
        extensions: [
            { name: "basicConstraints", cA: true, critical: true },
            { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
        ],
    });
    const rootIssuer = { cert: root, key: rootKeys.privateKey };

    // Istio's plug-in CA checks that ca-cert.pem is a CA chaining to root-cert.pem through cert-chain.pem
    // (security/pkg/pki/ca/ca.go NewPluggedCertIstioCAOptions -> util.Verify, at 1.30.3).
    const intermediateKeys = newKeyPair();
    const intermediate = issue({
        commonName: "istio-minikube istiod intermediate CA",
        organization: inputs.organization,
        publicKey: intermediateKeys.publicKey,
        issuer: rootIssuer,
        now,
        validityDays: inputs.validityDays,
        extensions: [
            { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
            { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
        ],
    });

    const servingKeys = newKeyPair();
    const serving = issue({
        commonName: inputs.servingDnsNames[0],
        organization: inputs.organization,
        publicKey: servingKeys.publicKey,
        issuer: rootIssuer,
        now,
        validityDays: inputs.validityDays,
        extensions: [
            { name: "basicConstraints", cA: false, critical: true },
            { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
            { name: "extKeyUsage", serverAuth: true },
            { name: "subjectAltName", altNames: inputs.servingDnsNames.map((value) => ({ type: 2, value })) },
        ],
    });

    const pem = (cert: forge.pki.Certificate) => forge.pki.certificateToPem(cert);
    const keyPem = (key: forge.pki.rsa.PrivateKey) => forge.pki.privateKeyToPem(key);
    return {
        ...inputs,
        rootCertPem: pem(root),
        intermediateCertPem: pem(intermediate),
        intermediateKeyPem: keyPem(intermediateKeys.privateKey),
        certChainPem: pem(intermediate) + pem(root),
        servingCertPem: pem(serving),
        servingKeyPem: keyPem(servingKeys.privateKey),
        notAfter: root.validity.notAfter.toISOString(),
    };
}

/** Which inputs differ; any difference replaces the whole set. */
export function changedInputs(olds: MeshCertificatesInputs, news: MeshCertificatesInputs): string[] {
    return REPLACING_INPUTS.filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
}

export const meshCertificatesProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: MeshCertificatesInputs) {
        const outs = generateMeshCertificates(inputs);
        return { id: crypto.createHash("sha256").update(outs.rootCertPem).digest("hex").slice(0, 16), outs };
    },
    async diff(_id: string, olds: MeshCertificatesOutputs, news: MeshCertificatesInputs) {
        const replaces = changedInputs(olds, news);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
};

export type MeshCertificatesArgs = { [K in keyof MeshCertificatesInputs]: pulumi.Input<MeshCertificatesInputs[K]> };

export class MeshCertificates extends pulumi.dynamic.Resource {
    declare readonly rootCertPem: pulumi.Output<string>;
    declare readonly intermediateCertPem: pulumi.Output<string>;
    declare readonly intermediateKeyPem: pulumi.Output<string>;
    declare readonly certChainPem: pulumi.Output<string>;
    declare readonly servingCertPem: pulumi.Output<string>;
    declare readonly servingKeyPem: pulumi.Output<string>;
    declare readonly notAfter: pulumi.Output<string>;

    constructor(name: string, args: MeshCertificatesArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            meshCertificatesProvider,
            name,
            {
                ...args,
                rootCertPem: undefined,
                intermediateCertPem: undefined,
                intermediateKeyPem: undefined,
                certChainPem: undefined,
                servingCertPem: undefined,
                servingKeyPem: undefined,
                notAfter: undefined,
            },
            { ...opts, additionalSecretOutputs: ["intermediateKeyPem", "servingKeyPem"] },
            "istio-minikube",
            "MeshCertificates",
        );
    }
}

/**
 * The objects that take the root CA (or a key) from the certificate resource. Nothing else depends on the
 * certificates themselves: the charts and the samples take only a fingerprint of the certificate settings
 * (chartValues.ts certificatesFingerprint), which a preview knows.
 */
export const OBJECTS_WITH_CERTIFICATES = [
    "Secret istio-system/cacerts",
    "Secret istio-system/istiod-tls",
    "MutatingWebhookConfiguration istio-sidecar-injector",
    "ValidatingWebhookConfiguration istiod-default-validator",
    "ValidatingWebhookConfiguration istio-validator-istio-system",
] as const;

/** What `pulumi preview` prints while the certificates are about to be generated. */
export const CERTIFICATES_PREVIEW_WARNING =
    "The mesh certificates are generated by this update (a first run, or certificates.rotation, validityDays or the " +
    "stack's name changed), so the new root CA is not known during this preview. Five objects take it: " +
    `${OBJECTS_WITH_CERTIFICATES.join(", ")}. They are listed with their new data or caBundle still to be known; ` +
    "'pulumi up' updates them in place (creates them, on a first run). Everything else is listed as the update will change it.";

/**
 * Warns during preview when the root is unknown, that is, when the certificate set is about to be made.
 * An Output's known-ness is an internal promise of @pulumi/pulumi (output.ts OutputImpl.isKnown).
 */
export function warnWhileCertificatesUnknown(rootCertPem: pulumi.Output<string>, warn: (message: string) => void = (m) => pulumi.log.warn(m)): Promise<boolean> {
    if (!pulumi.runtime.isDryRun()) return Promise.resolve(false);
    const known = (rootCertPem as unknown as { isKnown: Promise<boolean> }).isKnown;
    return known.then((isKnown) => {
        if (!isKnown) warn(CERTIFICATES_PREVIEW_WARNING);
        return !isKnown;
    });
}
