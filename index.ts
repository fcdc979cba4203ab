// Wiring only: read the stack's settings, check the host, create the components, export the outputs.
import * as pulumi from "@pulumi/pulumi";
import { parseSettings } from "./components/config";
import { prepareHost } from "./components/cluster/hostPreparation";
import { ownerLabelValue } from "./components/istio/existingIstio";
import { MinikubeCluster } from "./components/cluster/minikubeCluster";
import { ExistingCluster } from "./components/cluster/existingCluster";
import { IstioRelease, releasePreviewWarning } from "./components/istio/istioRelease";
import { ImagePreload } from "./components/cluster/imagePreload";
import { MeshCertificates, meshCertificateInputs, warnWhileCertificatesUnknown } from "./components/trust/meshCertificates";
import { IstioControlPlane, ISTIO_NAMESPACE } from "./components/istio/istioControlPlane";
import { SidecarInjector } from "./components/mesh/sidecarInjector";
import { MeshNamespaces, namespacePlan } from "./components/mesh/meshNamespaces";
import { Samples, SampleTarget } from "./components/mesh/samples";
import { IngressGateway } from "./components/mesh/ingressGateway";
import { BookinfoIngress } from "./components/mesh/bookinfoIngress";
import { Addons } from "./components/mesh/addons";
import { Verification, bookinfoNamespaceOf, kubeContextOf, verificationChecks, verificationInputsOf } from "./components/verify/verification";
import { addonImages, controlPlaneImages, sampleImages } from "./components/istio/versions";
import { certificatesFingerprint, injectorValues } from "./components/istio/chartValues";
import { fieldManagerTransform, stackFieldManager } from "./components/fieldManager";

const settings = parseSettings(pulumi.runtime.allConfig(), pulumi.getStack());
// The offline plan (scripts/offline-plan.ts) sets this: it runs nothing on the host, and Pulumi's mock
// runtime cannot register transforms.
const offlinePlan = process.env.ISTIO_MINIKUBE_OFFLINE_PLAN === "1";
const host = offlinePlan ? undefined : prepareHost(settings, { dryRun: pulumi.runtime.isDryRun(), project: pulumi.getProject(), stack: pulumi.getStack() });
const kubeContextName = kubeContextOf(settings);
// One server-side-apply field manager for every Kubernetes object of the stack, so an object a killed run
// created has one owner after the next run creates it again (components/fieldManager.ts). The program's own
// objects carry it in their inputs; the transform gives it to those the charts and YAML groups make.
const fieldManager = stackFieldManager(pulumi.getProject(), pulumi.getStack());
if (!offlinePlan) pulumi.runtime.registerResourceTransform(fieldManagerTransform(fieldManager));

const cluster =
    settings.cluster.kind === "minikube"
        ? new MinikubeCluster("minikube", { settings: settings.cluster.minikube, upsertExistingObjects: settings.upsertExistingObjects })
        : new ExistingCluster("cluster", { kubeContext: settings.cluster.kubeContext, upsertExistingObjects: settings.upsertExistingObjects });
const provider = cluster.provider;

const release = new IstioRelease("istio-release", {
    version: settings.istio.version,
    releaseArchive: settings.istio.releaseArchive,
    releaseUrl: settings.istio.releaseUrl,
    cacheDir: settings.releaseCacheDir,
});
const releaseWarning = releasePreviewWarning({
    dryRun: pulumi.runtime.isDryRun(),
    unpacked: release.unpacked,
    version: settings.istio.version,
    cacheDir: settings.releaseCacheDir,
    explainedAlready: host?.profile === "missing",
});
if (releaseWarning && !offlinePlan) pulumi.log.warn(releaseWarning);

const istioImages = controlPlaneImages(settings.istio.version);
const plannedNamespaces = namespacePlan(settings);
const preload =
    cluster instanceof MinikubeCluster && settings.images.preload
        ? new ImagePreload("preload", {
              images: [
                  istioImages.pilot,
                  istioImages.proxy,
                  ...plannedNamespaces.flatMap((ns) => ns.samples.flatMap((sample) => sampleImages(settings.istio.version, sample))),
                  ...settings.addons.flatMap((addon) => addonImages(settings.istio.version, addon)),
                  ...settings.images.extra,
              ],
              archiveDir: settings.images.archiveDir,
              profile: cluster.profile,
              cluster: cluster.started,
          })
        : undefined;

const certificateSettings = meshCertificateInputs(pulumi.getStack(), settings.certificates, ISTIO_NAMESPACE);
const certificates = new MeshCertificates("mesh-certificates", certificateSettings);
// Known at preview, unlike the root: what rolls istiod and the samples to new certificates.
const certificatesGeneration = certificatesFingerprint(certificateSettings);
warnWhileCertificatesUnknown(certificates.trustBundle);

const controlPlane = new IstioControlPlane("istio", {
    provider,
    adoptingProvider: cluster.adoptingProvider,
    labelCrds: !offlinePlan,
    release,
    mtls: settings.istio.mtls,
    certificates,
    certificatesFingerprint: certificatesGeneration,
    owner: ownerLabelValue(pulumi.getProject(), pulumi.getStack()),
    istiodWaitsFor: preload?.loadsOf([istioImages.pilot]),
    fieldManager,
});

const injector = new SidecarInjector("sidecar-injector", {
    provider,
    kubeContext: kubeContextName,
    trustBundlePem: certificates.trustBundle,
    istiod: controlPlane.istiod,
    configInputs: { istioVersion: settings.istio.version, values: injectorValues(controlPlane.istiodValues), cluster: cluster.clusterIdentity },
    filesDir: settings.workDir,
    fieldManager,
});

const namespaces = new MeshNamespaces("namespaces", {
    provider,
    namespaces: plannedNamespaces,
    injector: injector.webhook,
    fieldManager,
});

const targets: SampleTarget[] = plannedNamespaces.map((ns) => ({ ...ns, ready: namespaces.ready.get(ns.namespace)! }));
const samples = new Samples("samples", {
    provider,
    kubeContext: kubeContextName,
    certificatesFingerprint: certificatesGeneration,
    release,
    targets,
    injectorFiles: injector.files,
    meshReady: [injector.webhook, injector.configReadBack, controlPlane.istiod],
    imagesFor: (sample) => preload?.loadsOf([istioImages.proxy, ...sampleImages(settings.istio.version, sample)]) ?? [],
});

const meshReady = [injector.webhook, injector.configReadBack, controlPlane.istiod];
const gateway = settings.gateway.enabled
    ? new IngressGateway("ingress-gateway", {
          provider,
          release,
          serviceType: settings.gateway.serviceType,
          certificatesFingerprint: certificatesGeneration,
          owner: ownerLabelValue(pulumi.getProject(), pulumi.getStack()),
          meshReady,
          images: preload?.loadsOf([istioImages.proxy]) ?? [],
          fieldManager,
      })
    : undefined;
const bookinfoNamespace = bookinfoNamespaceOf(settings);
const bookinfoIngress =
    gateway && bookinfoNamespace
        ? new BookinfoIngress("bookinfo-ingress", {
              provider,
              release,
              namespace: bookinfoNamespace,
              kubeContext: kubeContextName,
              serviceType: settings.gateway.serviceType,
              minikubeProfile: cluster instanceof MinikubeCluster ? cluster.profile : undefined,
              clusterIdentity: cluster.clusterIdentity,
              routesWaitFor: [namespaces.ready.get(bookinfoNamespace)!, controlPlane.istiod, ...controlPlane.validationWebhooks],
              gateway: gateway.chart,
          })
        : undefined;
new Addons("addons", {
    provider,
    release,
    addons: settings.addons,
    namespace: controlPlane.namespace,
    imagesFor: (addon) => preload?.loadsOf(addonImages(settings.istio.version, addon)) ?? [],
});

const verification = settings.verify
    ? new Verification("verification", {
          checks: verificationChecks(verificationInputsOf(settings)),
          // The certificate settings stand for the certificates: they are replaced exactly when these change.
          subject: {
              cluster: cluster.clusterIdentity,
              istioVersion: settings.istio.version,
              mtls: settings.istio.mtls,
              certificates: settings.certificates,
              samples: settings.samples,
              injection: settings.injection,
              gateway: settings.gateway,
          },
          waitFor: [
              controlPlane.peerAuthentication,
              ...samples.workloads,
              ...(gateway ? [gateway.chart] : []),
              ...(bookinfoIngress ? [bookinfoIngress.routes] : []),
          ],
      })
    : undefined;

export const clusterKind = settings.cluster.kind;
export const kubeContext = kubeContextName;
export const istioVersion = release.version;
export const istioReleaseDir = release.releaseDir;
export const preloadedImages = preload ? preload.images : [];
export const mtlsMode = settings.istio.mtls;
/** The root that signs the mesh's certificates (the previous one during a trust step: certificates.signing). */
export const rootCertificate = certificates.signingRoot;
/** Every root the mesh trusts: the newest root, and the previous one until certificates.retired retires it (docs/trust.md). */
export const trustBundle = certificates.trustBundle;
export const certificatesNotAfter = certificates.notAfter;
export const peerAuthentication = controlPlane.peerAuthentication.metadata.name;
export const injectorFiles = injector.files;
export const injection = { auto: settings.injection.auto, manual: settings.injection.manual };
/** bookinfo's product page through the ingress gateway (docs/see-it.md). */
export const bookinfoUrl = bookinfoIngress ? bookinfoIngress.url : "";
/** The dashboards installed: `npm run dashboard -- NAME` opens one. */
export const dashboards = settings.addons;
/** One entry per check: {check, status, detail}. */
export const verificationResults = verification ? verification.results : [];
