// Wiring only: read the stack's settings, check the host, create the components, export the outputs.
import * as pulumi from "@pulumi/pulumi";
import { parseSettings } from "./components/config";
import { runPreflight } from "./components/preflight";
import { MinikubeCluster } from "./components/minikubeCluster";
import { ExistingCluster } from "./components/existingCluster";
import { IstioRelease } from "./components/istioRelease";
import { ImagePreload } from "./components/imagePreload";
import { MeshCertificates } from "./components/meshCertificates";
import { IstioControlPlane, ISTIO_NAMESPACE } from "./components/istioControlPlane";
import { controlPlaneImages, sampleImages } from "./components/versions";

const settings = parseSettings(pulumi.runtime.allConfig(), pulumi.getStack());
if (process.env.ISTIO_MINIKUBE_SKIP_PREFLIGHT !== "1") runPreflight(settings);

const cluster =
    settings.cluster.kind === "minikube"
        ? new MinikubeCluster("minikube", { settings: settings.cluster.minikube })
        : new ExistingCluster("cluster", { kubeContext: settings.cluster.kubeContext });
const provider = cluster.provider;

const release = new IstioRelease("istio-release", {
    version: settings.istio.version,
    releaseArchive: settings.istio.releaseArchive,
    cacheDir: settings.releaseCacheDir,
});

const istioImages = controlPlaneImages(settings.istio.version);
const preload =
    cluster instanceof MinikubeCluster && settings.images.preload
        ? new ImagePreload("preload", {
              images: [
                  istioImages.pilot,
                  istioImages.proxy,
                  ...settings.samples.flatMap((sample) => sampleImages(settings.istio.version, sample)),
                  ...settings.images.extra,
              ],
              archiveDir: settings.images.archiveDir,
              profile: cluster.profile,
              cluster: cluster.started,
          })
        : undefined;

const certificates = new MeshCertificates("mesh-certificates", {
    organization: `istio-minikube ${pulumi.getStack()}`,
    servingDnsNames: ["istiod", `istiod.${ISTIO_NAMESPACE}`, `istiod.${ISTIO_NAMESPACE}.svc`],
    validityDays: settings.certificates.validityDays,
    rotation: settings.certificates.rotation,
});

const controlPlane = new IstioControlPlane("istio", {
    provider,
    release,
    mtls: settings.istio.mtls,
    certificates,
    istiodWaitsFor: preload?.loadsOf([istioImages.pilot]),
});

export const clusterKind = settings.cluster.kind;
export const kubeContext = cluster instanceof MinikubeCluster ? cluster.profile : settings.cluster.kind === "existing" ? settings.cluster.kubeContext : null;
/** Secret: `pulumi stack output kubeconfig --show-secrets`. */
export const kubeconfig = cluster instanceof MinikubeCluster ? cluster.kubeconfig : null;
export const istioVersion = release.version;
export const istioReleaseDir = release.releaseDir;
export const preloadedImages = preload ? preload.images : [];
export const mtlsMode = settings.istio.mtls;
export const rootCertificate = certificates.rootCertPem;
export const certificatesNotAfter = certificates.notAfter;
export const peerAuthentication = controlPlane.peerAuthentication.metadata.name;
