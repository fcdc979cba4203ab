import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import { SampleName } from "../config";
import { IstioRelease } from "../istio/istioRelease";
import { InjectorFiles } from "./sidecarInjector";
import { NamespacePlan } from "./meshNamespaces";
import { SAMPLE_FILES, addPodAnnotations, prepareSampleObjects, toManifest } from "./sampleManifests";
import { scriptCommand } from "../scripts";
import { CERTIFICATES_ANNOTATION } from "../istio/chartValues";

export interface SampleTarget extends NamespacePlan {
    /** The namespace (or its label patch): workloads wait for it. */
    ready: pulumi.Resource;
}

export interface SamplesArgs {
    provider: k8s.Provider;
    /** kubectl context of the stack's cluster, for istioctl. */
    kubeContext: string;
    /** certificatesFingerprint() of the certificate settings: new certificates restart the samples, so their proxies get certificates from the new root. */
    certificatesFingerprint: string;
    release: IstioRelease;
    targets: SampleTarget[];
    injectorFiles: pulumi.Output<InjectorFiles>;
    /** The webhook and the control plane: injected pods need istiod serving /inject. */
    meshReady: pulumi.Resource[];
    /** The preloads of a sample's images, so the kubelet finds them in place. */
    imagesFor(sample: SampleName): pulumi.Resource[];
}

/**
 * Istio's samples from the release folder into each target namespace: by the webhook where the namespace
 * is labelled, through `istioctl kube-inject` with the local injector files where it is manual, and
 * untouched outside the mesh. productpage's proxy writes its certificates to /etc/certs for the blog's
 * curl commands. Each Deployment is awaited, for at most READY_TIMEOUT_SECONDS.
 */
export class Samples extends pulumi.ComponentResource {
    readonly workloads: k8s.yaml.v2.ConfigGroup[] = [];

    constructor(name: string, args: SamplesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:samples:Samples", name, {}, opts);
        for (const target of args.targets) {
            for (const sample of target.samples) {
                const certificates = { [CERTIFICATES_ANNOTATION]: args.certificatesFingerprint };
                // Where injection is manual, the certificates annotation is added after kube-inject, not
                // before: a rotation then leaves the kube-inject command as it is, its output known in the
                // rotation's preview, which so lists the samples' updates instead of deletes.
                const manual = target.injection === "manual";
                const manifest = args.release.sample(...SAMPLE_FILES[sample]).apply((file) =>
                    toManifest(
                        prepareSampleObjects(fs.readFileSync(file, "utf8"), {
                            namespace: target.namespace,
                            outputCertsDeployment: sample === "bookinfo" ? "productpage-v1" : undefined,
                            podAnnotations: manual ? {} : certificates,
                        }),
                    ),
                );
                const id = `${sample}-${target.namespace}`;
                const dependsOn = [target.ready, ...args.imagesFor(sample), ...(target.injection === "none" ? [] : args.meshReady)];
                let yaml: pulumi.Output<string> = manifest;
                if (manual) {
                    const injected = new command.local.Command(
                        `${id}-kube-inject`,
                        {
                            create: scriptCommand("kube-inject.sh"),
                            update: scriptCommand("kube-inject.sh"),
                            stdin: manifest,
                            environment: pulumi.all([args.release.istioctl, args.injectorFiles]).apply(([istioctl, files]) => ({
                                ISTIOCTL: istioctl,
                                INJECT_CONFIG_FILE: files.injectConfigFile,
                                INJECT_VALUES_FILE: files.injectValuesFile,
                                MESH_CONFIG_FILE: files.meshConfigFile,
                                KUBE_CONTEXT: args.kubeContext,
                            })),
                            // The injected manifest is long: keep it out of the console.
                            logging: "stderr",
                        },
                        { parent: this, dependsOn },
                    );
                    yaml = injected.stdout.apply((injectedYaml) => addPodAnnotations(injectedYaml, certificates));
                }
                this.workloads.push(new k8s.yaml.v2.ConfigGroup(id, { yaml }, { parent: this, provider: args.provider, dependsOn }));
            }
        }
        this.registerOutputs({});
    }
}
