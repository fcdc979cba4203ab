// The stack's root of trust, as a Pulumi dynamic resource: a root CA; an intermediate CA that istiod uses
// to sign workload certificates (Istio's plug-in CA); and the serving certificate istiod presents for
// /inject (and its other TLS ports). Generated once and kept in state, so runs without changes change
// nothing. A rotation (raising `rotation`) makes a new set *in place* and keeps the set it replaces (its
// root, and its intermediate, which can still sign) beside the new one until a declared step retires it
// (docs/trust.md). Which of the two intermediates signs is the program's choice (certificates.signing,
// signingOf below), not an input here, so the sign step changes cacerts alone and previews exactly:
//
//   step                      signs workloads   istiod serves          every bundle trusts
//   before                    old root          old root's cert        old
//   trust (rotation, signing  old root          old root's cert        new + old
//          = rotation - 1)
//   sign  (signing)           new root          old root's cert        new + old
//   retire (retired)          new root          new root's cert        new
//
// Raising rotation with signing left unset does the trust and the sign step in one up. istiod's serving
// certificate switches only when the old root leaves: by then every client of istiod (the API server
// through the webhooks' caBundle, each workload through the istio-ca-root-cert it mounts) has trusted the
// new root for the whole overlap, so nothing is ever handed a certificate it does not trust.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as forge from "node-forge";

export interface MeshCertificatesInputs {
    /** Organisation in every subject; the stack name keeps two stacks' roots apart. */
    organization: string;
    /** DNS names of istiod's serving certificate. */
    servingDnsNames: string[];
    validityDays: number;
    /** Raising it makes a new set, the root it replaces kept trusted while keepPreviousRoot holds. */
    rotation: number;
    /**
     * False once certificates.retired equals rotation: the previous root leaves every bundle. In the state it
     * stays false until the next rotation, retired unset again or not (check: checkedInputs).
     */
    keepPreviousRoot: boolean;
    /**
     * certificates.signing naming the previous root (the trust step); absent is false. It makes no
     * certificate (diff ignores it: the program picks the intermediate, signingOf), but it is kept in the
     * state's inputs (a no-change step keeps the new inputs: pulumi pkg/resource/deploy/step.go SameStep),
     * so check can refuse a step that would drop the root that still signs.
     */
    previousRootSigns?: boolean;
}

export interface MeshCertificatesOutputs extends MeshCertificatesInputs {
    /** The newest root: the intermediate's issuer. */
    rootCertPem: string;
    /** The root this one replaced, while it stays trusted; "" otherwise. Its private key is never kept. */
    previousRootCertPem: string;
    /** What every consumer trusts: the newest root, then the previous root while it is kept. */
    trustBundlePem: string;
    intermediateCertPem: string;
    /** Secret. */
    intermediateKeyPem: string;
    /** Intermediate then root: what Istio's plug-in CA expects in cert-chain.pem. */
    certChainPem: string;
    /** The previous root's intermediate while that root is kept, which signs until the sign step; "" otherwise. */
    previousIntermediateCertPem: string;
    /** Secret; "" when there is no previous intermediate. Leaves with the previous root. */
    previousIntermediateKeyPem: string;
    /** The previous intermediate then its root; "" when there is none. */
    previousCertChainPem: string;
    /** The serving certificate istiod presents: the previous root's during an overlap. */
    servingCertPem: string;
    /** Secret. */
    servingKeyPem: string;
    /** During an overlap, the newest root's serving certificate, presented once the previous root is retired; "" otherwise. */
    nextServingCertPem: string;
    /** Secret; "" outside an overlap. */
    nextServingKeyPem: string;
    /**
     * The earliest expiry of what is in use: the newest root, and the serving certificate istiod presents
     * (during an overlap the previous root's, made with that root and its intermediate, so expiring with them).
     */
    notAfter: string;
}

/**
 * The certificates a stack gets: its name in every subject (two stacks' roots stay apart), istiod's
 * Service names in the serving certificate, and the config's validity and rotation. The previous root is
 * kept unless certificates.retired names the current rotation.
 */
export function meshCertificateInputs(
    stack: string,
    certificates: { validityDays: number; rotation: number; retired?: number; signing?: number },
    istioNamespace = "istio-system",
): MeshCertificatesInputs {
    return {
        organization: `istio-minikube ${stack}`,
        servingDnsNames: ["istiod", `istiod.${istioNamespace}`, `istiod.${istioNamespace}.svc`],
        validityDays: certificates.validityDays,
        rotation: certificates.rotation,
        keepPreviousRoot: certificates.retired !== certificates.rotation,
        previousRootSigns: certificates.signing !== undefined && certificates.signing === certificates.rotation - 1,
    };
}

const CONFIG = "istio-minikube:certificates";

/**
 * The steps a stack's last `up` (its state's inputs) rules out, each of which would drop a root that still
 * signs or name a root the state has no key for. The config alone cannot tell: it sees one up, not the last.
 * Empty on a first up.
 */
export function refusedSteps(olds: Partial<MeshCertificatesInputs> | undefined, news: MeshCertificatesInputs): { property: string; reason: string }[] {
    if (olds?.rotation === undefined) return [];
    const last = olds.rotation;
    const trustStep = olds.previousRootSigns === true;
    if (trustStep && news.rotation !== last && news.keepPreviousRoot) {
        return [
            {
                property: "rotation",
                reason:
                    `${CONFIG}.rotation = ${news.rotation} is not allowed while root ${last - 1} still signs (the last up was the trust step of rotation ${last}, ` +
                    `certificates.signing ${last - 1}): a new rotation keeps only the newest root beside its own, so every workload certificate would lose its root. ` +
                    `Expected ${last} until the sign step (certificates.signing: ${last}) has run; or set certificates.retired to ${news.rotation} too, for a deliberate hard cut`,
            },
        ];
    }
    if (trustStep && news.rotation === last && !news.keepPreviousRoot && olds.keepPreviousRoot !== false) {
        return [
            {
                property: "keepPreviousRoot",
                reason:
                    `${CONFIG}.retired = ${last} is not allowed in the up that switches the signer: root ${last - 1} signed every workload certificate until now ` +
                    `(the last up was the trust step, certificates.signing ${last - 1}). Expected ${last - 1} or unset: run the sign step alone ` +
                    `(certificates.signing: ${last}), wait until every workload has a new certificate, then retire (docs/trust.md)`,
            },
        ];
    }
    if (news.previousRootSigns && news.rotation === last && olds.keepPreviousRoot === false) {
        return [
            {
                property: "previousRootSigns",
                reason: `${CONFIG}.signing = ${last - 1} is not allowed: root ${last - 1} was retired (certificates.retired ${last} at an earlier up). Expected ${last} or unset`,
            },
        ];
    }
    if (news.previousRootSigns && news.rotation === last && olds.previousRootSigns === undefined && last > 0) {
        return [
            {
                property: "previousRootSigns",
                reason:
                    `${CONFIG}.signing = ${last - 1} is not allowed: this stack was rotated to ${last} by an earlier version, whose state keeps no intermediate ` +
                    `of root ${last - 1}. Expected ${last} or unset; the next rotation can use the trust step (docs/trust.md)`,
            },
        ];
    }
    return [];
}

/**
 * The inputs check hands back, which the engine keeps as the state's (pulumi pkg/resource/deploy/step_generator.go:
 * new.Inputs is check's result, for a step that changes nothing too). A retire step holds until the next
 * rotation: with certificates.retired unset (or rotation - 1) again at the same rotation, keepPreviousRoot
 * stays false, as there is no previous root left to keep, so a later up that names the retired root to sign
 * is still refused (refusedSteps) instead of the one root signing in its place. Raising rotation keeps the
 * root it replaces as before.
 */
export function checkedInputs(olds: Partial<MeshCertificatesInputs> | undefined, news: MeshCertificatesInputs): MeshCertificatesInputs {
    const retiredAtThisRotation = olds?.keepPreviousRoot === false && olds.rotation === news.rotation;
    return retiredAtThisRotation && news.keepPreviousRoot ? { ...news, keepPreviousRoot: false } : news;
}

/** Inputs whose change replaces the set outright, with no overlap: the stack's identity in the certificates. */
export const REPLACING_INPUTS: readonly (keyof MeshCertificatesInputs)[] = ["organization", "servingDnsNames"];
/**
 * Inputs whose change makes a new set in place, the replaced root kept trusted while keepPreviousRoot holds.
 * Only `rotation`: a new validityDays applies to the next rotation's certificates, so it can neither drop a
 * root still trusted nor make a hard cut of its own.
 */
export const ROTATING_INPUTS: readonly (keyof MeshCertificatesInputs)[] = ["rotation"];

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

/** One generation: a root, its intermediate and a serving certificate it signs. The root's key is dropped here. */
export interface CertificateSet {
    rootCertPem: string;
    intermediateCertPem: string;
    intermediateKeyPem: string;
    certChainPem: string;
    servingCertPem: string;
    servingKeyPem: string;
    notAfter: string;
}

/** Generates one set. Pure apart from randomness and the clock; the tests call it directly. */
export function generateCertificateSet(inputs: MeshCertificatesInputs, now: Date = new Date()): CertificateSet {
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
        rootCertPem: pem(root),
        intermediateCertPem: pem(intermediate),
        intermediateKeyPem: keyPem(intermediateKeys.privateKey),
        certChainPem: pem(intermediate) + pem(root),
        servingCertPem: pem(serving),
        servingKeyPem: keyPem(servingKeys.privateKey),
        notAfter: root.validity.notAfter.toISOString(),
    };
}

const NO_PREVIOUS_SET = { previousRootCertPem: "", previousIntermediateCertPem: "", previousIntermediateKeyPem: "", previousCertChainPem: "" } as const;

/** A new set standing alone: its root the only one trusted, its serving certificate presented. */
function standingAlone(inputs: MeshCertificatesInputs, now: Date): MeshCertificatesOutputs {
    const { notAfter: _notAfter, ...set } = generateCertificateSet(inputs, now);
    return withBundle({ ...inputs, ...set, ...NO_PREVIOUS_SET, nextServingCertPem: "", nextServingKeyPem: "" });
}

/** The first set of a stack: one root, trusted alone. */
export function generateMeshCertificates(inputs: MeshCertificatesInputs, now: Date = new Date()): MeshCertificatesOutputs {
    return standingAlone(inputs, now);
}

/** The serving certificate and key signed by the state's newest root (the one waiting, during an overlap). */
function servingOfSigningRoot(olds: MeshCertificatesOutputs): { servingCertPem: string; servingKeyPem: string } {
    return olds.nextServingCertPem
        ? { servingCertPem: olds.nextServingCertPem, servingKeyPem: olds.nextServingKeyPem }
        : { servingCertPem: olds.servingCertPem, servingKeyPem: olds.servingKeyPem };
}

/**
 * The bundle, and notAfter as the earliest expiry of what is in use: during an overlap istiod's serving
 * certificate is the previous root's, which expires before the new root.
 */
function withBundle(outs: Omit<MeshCertificatesOutputs, "trustBundlePem" | "notAfter">): MeshCertificatesOutputs {
    const notAfter = Math.min(...[outs.rootCertPem, outs.servingCertPem].map((pem) => forge.pki.certificateFromPem(pem).validity.notAfter.getTime()));
    return { ...outs, trustBundlePem: outs.rootCertPem + outs.previousRootCertPem, notAfter: new Date(notAfter).toISOString() };
}

/**
 * A new generation in place. While the previous root is kept, the set until now becomes the previous set
 * (its root joins the bundle, its intermediate can go on signing until the sign step; the set before it
 * leaves: a new generation retires it, as a declared step), and istiod keeps presenting that root's
 * serving certificate; the new set's own serving certificate waits for the retire step. Without it, the
 * new set stands alone (a deliberate hard cut: a compromised root, say).
 */
export function rotateMeshCertificates(olds: MeshCertificatesOutputs, news: MeshCertificatesInputs, now: Date = new Date()): MeshCertificatesOutputs {
    if (!news.keepPreviousRoot) return standingAlone(news, now);
    const { notAfter: _notAfter, ...generated } = generateCertificateSet(news, now);
    return withBundle({
        ...news,
        ...generated,
        ...servingOfSigningRoot(olds),
        previousRootCertPem: olds.rootCertPem,
        previousIntermediateCertPem: olds.intermediateCertPem,
        previousIntermediateKeyPem: olds.intermediateKeyPem,
        previousCertChainPem: olds.certChainPem,
        nextServingCertPem: generated.servingCertPem,
        nextServingKeyPem: generated.servingKeyPem,
    });
}

/**
 * The retire step: the previous set leaves (its root from every bundle, its intermediate's key from the
 * state) and istiod switches to the newest root's serving certificate.
 */
export function retirePreviousRoot(olds: MeshCertificatesOutputs, news: MeshCertificatesInputs): MeshCertificatesOutputs {
    const { trustBundlePem: _bundle, notAfter: _notAfter, ...kept } = olds;
    return withBundle({ ...kept, ...news, ...servingOfSigningRoot(olds), ...NO_PREVIOUS_SET, nextServingCertPem: "", nextServingKeyPem: "" });
}

/** What istiod signs with (cacerts): an intermediate, its key, and cert-chain.pem. */
export interface Signer {
    intermediateCertPem: string;
    intermediateKeyPem: string;
    certChainPem: string;
}

type SignerChoice = Pick<
    MeshCertificatesOutputs,
    "rootCertPem" | "intermediateCertPem" | "intermediateKeyPem" | "certChainPem" | "previousRootCertPem" | "previousIntermediateCertPem" | "previousIntermediateKeyPem" | "previousCertChainPem"
>;

/**
 * Which set signs: the previous one while certificates.signing names it (the trust step, before the
 * sign step), the newest otherwise. With no previous root (a stack's first set, or after a hard cut) the
 * one root signs. A previous root without its intermediate (a state written before the sign step existed)
 * cannot sign: that is an error naming the key, not a silent switch.
 */
export function signingOf(certs: SignerChoice, previousRootSigns: boolean, rotation: number): { rootCertPem: string } & Signer {
    if (previousRootSigns && certs.previousRootCertPem) {
        if (!certs.previousIntermediateCertPem) {
            // check (refusedSteps) stops the usual case before anything runs; this is the backstop.
            throw new Error(
                `${CONFIG}.signing = ${rotation - 1} is not allowed: this stack's state holds no intermediate of root ${rotation - 1} (it was rotated ` +
                    `before the sign step existed). Expected ${rotation} or unset (docs/trust.md)`,
            );
        }
        return {
            rootCertPem: certs.previousRootCertPem,
            intermediateCertPem: certs.previousIntermediateCertPem,
            intermediateKeyPem: certs.previousIntermediateKeyPem,
            certChainPem: certs.previousCertChainPem,
        };
    }
    const { rootCertPem, intermediateCertPem, intermediateKeyPem, certChainPem } = certs;
    return { rootCertPem, intermediateCertPem, intermediateKeyPem, certChainPem };
}

/** Which inputs differ among `keys`. */
function differing(olds: Partial<MeshCertificatesInputs>, news: MeshCertificatesInputs, keys: readonly (keyof MeshCertificatesInputs)[]): string[] {
    return keys.filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
}

/** What an update does with the certificates: nothing, replace them, make a new generation in place, or retire the previous root. */
export function plannedChange(
    olds: MeshCertificatesOutputs,
    news: MeshCertificatesInputs,
): { kind: "none" | "replace" | "rotate" | "retire" | "complete"; keys: string[] } {
    const replacing = differing(olds, news, REPLACING_INPUTS);
    if (replacing.length > 0) return { kind: "replace", keys: replacing };
    const rotating = differing(olds, news, ROTATING_INPUTS);
    if (rotating.length > 0) return { kind: "rotate", keys: rotating };
    if (olds.previousRootCertPem && !news.keepPreviousRoot) return { kind: "retire", keys: ["keepPreviousRoot"] };
    // A state written before overlaps (or the sign step) existed lacks the bundle (or the previous
    // intermediate), which a preview would show as unknown every time: one update writes it (the same
    // certificates; the one root as the bundle; no previous intermediate, its key long gone).
    const missing = (["trustBundlePem", "previousIntermediateCertPem"] as const).filter((key) => olds[key] === undefined);
    if (missing.length > 0) return { kind: "complete", keys: [...missing] };
    return { kind: "none", keys: [] };
}

/** The state's outputs as the program reads them, for a state written before overlaps existed too. */
function complete(olds: MeshCertificatesOutputs): MeshCertificatesOutputs {
    return {
        ...olds,
        keepPreviousRoot: olds.keepPreviousRoot ?? true,
        previousRootCertPem: olds.previousRootCertPem ?? "",
        previousIntermediateCertPem: olds.previousIntermediateCertPem ?? "",
        previousIntermediateKeyPem: olds.previousIntermediateKeyPem ?? "",
        previousCertChainPem: olds.previousCertChainPem ?? "",
        trustBundlePem: olds.trustBundlePem ?? olds.rootCertPem + (olds.previousRootCertPem ?? ""),
        nextServingCertPem: olds.nextServingCertPem ?? "",
        nextServingKeyPem: olds.nextServingKeyPem ?? "",
    };
}

export const meshCertificatesProvider: pulumi.dynamic.ResourceProvider = {
    // olds are the inputs of the last up (Pulumi's dynamic provider: check(olds, news)), as check returned them.
    async check(olds: Partial<MeshCertificatesInputs>, news: MeshCertificatesInputs) {
        return { inputs: checkedInputs(olds, news), failures: refusedSteps(olds, news) };
    },
    async create(inputs: MeshCertificatesInputs) {
        const outs = generateMeshCertificates(inputs);
        return { id: crypto.createHash("sha256").update(outs.rootCertPem).digest("hex").slice(0, 16), outs };
    },
    async diff(_id: string, olds: MeshCertificatesOutputs, news: MeshCertificatesInputs) {
        const change = plannedChange(olds, news);
        // A rotation or a retire step is an update: the next state is made from this one (the root kept
        // beside the new one), which a replacement's create could not see.
        return { changes: change.kind !== "none", replaces: change.kind === "replace" ? change.keys : [], deleteBeforeReplace: false };
    },
    async update(_id: string, olds: MeshCertificatesOutputs, news: MeshCertificatesInputs) {
        const state = complete(olds);
        const change = plannedChange(state, news);
        if (change.kind === "rotate") return { outs: rotateMeshCertificates(state, news) };
        if (change.kind === "retire") return { outs: retirePreviousRoot(state, news) };
        // The state completed, or settings that make no new certificates (keepPreviousRoot with no previous
        // root, a validityDays for the next rotation): the certificates stay as they are.
        return { outs: { ...state, ...news } };
    },
};

export type MeshCertificatesArgs = { [K in keyof MeshCertificatesInputs]: pulumi.Input<MeshCertificatesInputs[K]> };

export class MeshCertificates extends pulumi.dynamic.Resource {
    declare readonly rootCertPem: pulumi.Output<string>;
    declare readonly previousRootCertPem: pulumi.Output<string>;
    declare readonly trustBundlePem: pulumi.Output<string>;
    declare readonly intermediateCertPem: pulumi.Output<string>;
    declare readonly intermediateKeyPem: pulumi.Output<string>;
    declare readonly certChainPem: pulumi.Output<string>;
    declare readonly previousIntermediateCertPem: pulumi.Output<string>;
    declare readonly previousIntermediateKeyPem: pulumi.Output<string>;
    declare readonly previousCertChainPem: pulumi.Output<string>;
    declare readonly servingCertPem: pulumi.Output<string>;
    declare readonly servingKeyPem: pulumi.Output<string>;
    declare readonly notAfter: pulumi.Output<string>;

    /**
     * What every consumer trusts. A state written before overlaps existed has no trustBundlePem until an
     * update completes it (plannedChange "complete"); until then, in an `up --target` that skips that
     * update, its one root is the bundle.
     */
    readonly trustBundle: pulumi.Output<string>;
    /** The root whose intermediate signs workload certificates (signingOf): not secret. */
    readonly signingRoot: pulumi.Output<string>;
    /** What istiod signs with, for cacerts (signingOf): secret. */
    readonly signer: pulumi.Output<Signer>;

    /**
     * `previousRootSigns` (the trust step) makes no certificate: the sign step changes only which kept
     * intermediate cacerts takes, so its preview knows every value.
     */
    constructor(name: string, args: MeshCertificatesArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            meshCertificatesProvider,
            name,
            {
                ...args,
                rootCertPem: undefined,
                previousRootCertPem: undefined,
                trustBundlePem: undefined,
                intermediateCertPem: undefined,
                intermediateKeyPem: undefined,
                certChainPem: undefined,
                previousIntermediateCertPem: undefined,
                previousIntermediateKeyPem: undefined,
                previousCertChainPem: undefined,
                servingCertPem: undefined,
                servingKeyPem: undefined,
                nextServingCertPem: undefined,
                nextServingKeyPem: undefined,
                notAfter: undefined,
            },
            { ...opts, additionalSecretOutputs: ["intermediateKeyPem", "previousIntermediateKeyPem", "servingKeyPem", "nextServingKeyPem"] },
            "istio-minikube",
            "MeshCertificates",
        );
        this.trustBundle = pulumi.all([this.trustBundlePem, this.rootCertPem]).apply(([bundle, root]) => bundle || root);
        const certs: pulumi.Output<SignerChoice> = pulumi
            .all([
                this.rootCertPem,
                this.intermediateCertPem,
                this.intermediateKeyPem,
                this.certChainPem,
                this.previousRootCertPem,
                this.previousIntermediateCertPem,
                this.previousIntermediateKeyPem,
                this.previousCertChainPem,
            ])
            .apply(([rootCertPem, intermediateCertPem, intermediateKeyPem, certChainPem, previousRootCertPem, previousIntermediateCertPem, previousIntermediateKeyPem, previousCertChainPem]) => ({
                rootCertPem,
                intermediateCertPem,
                intermediateKeyPem,
                certChainPem,
                previousRootCertPem,
                previousIntermediateCertPem,
                previousIntermediateKeyPem,
                previousCertChainPem,
            }));
        const choice = pulumi
            .all([certs, pulumi.output(args.previousRootSigns ?? false), pulumi.output(args.rotation)])
            .apply(([known, previousRootSigns, rotation]) => signingOf(known, previousRootSigns ?? false, rotation));
        // The choice holds a key, so it is secret as a whole; the root alone is not.
        this.signingRoot = pulumi.unsecret(choice.apply((c) => c.rootCertPem));
        this.signer = choice.apply(({ rootCertPem: _r, ...rest }) => rest);
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

/** What `pulumi preview` prints while the certificates are about to change. */
export const CERTIFICATES_PREVIEW_WARNING =
    "The mesh certificates change in this update (a first run; certificates.rotation or retired; the stack's name; or " +
    "a state an earlier version wrote, completed once), so their new values are not known during this preview. Five objects take them: " +
    `${OBJECTS_WITH_CERTIFICATES.join(", ")}. They are listed with their new data or caBundle still to be known; ` +
    "'pulumi up' updates them in place (creates them, on a first run). A rotation keeps the previous root trusted beside " +
    "the new one until certificates.retired retires it, and signing with it while certificates.signing names it (docs/trust.md). " +
    "Everything else is listed as the update will change it.";

/**
 * Warns during preview when the trust bundle is unknown, that is, when the certificates are about to change.
 * An Output's known-ness is an internal promise of @pulumi/pulumi (output.ts OutputImpl.isKnown).
 */
export function warnWhileCertificatesUnknown(trustBundlePem: pulumi.Output<string>, warn: (message: string) => void = (m) => pulumi.log.warn(m)): Promise<boolean> {
    if (!pulumi.runtime.isDryRun()) return Promise.resolve(false);
    const known = (trustBundlePem as unknown as { isKnown: Promise<boolean> }).isKnown;
    return known.then((isKnown) => {
        if (!isKnown) warn(CERTIFICATES_PREVIEW_WARNING);
        return !isKnown;
    });
}
