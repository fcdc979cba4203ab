import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AddonName } from "../config";
import { IstioRelease } from "../istio/istioRelease";
import { prepareAddonObjects, toManifest } from "./sampleManifests";

export interface AddonsArgs {
    provider: k8s.Provider;
    release: IstioRelease;
    addons: AddonName[];
    /** istio-system: the addons' manifests put their objects there. */
    namespace: pulumi.Resource;
    /** The preloads of an addon's images. */
    imagesFor(addon: AddonName): pulumi.Resource[];
}

/**
 * The dashboards of istio.io's getting-started: the release's samples/addons manifests, each as it is
 * (the release is the source of truth), one ConfigGroup per addon. Not in the mesh: istio-system is not
 * labelled for injection and the addons' pods do not ask for it.
 */
export class Addons extends pulumi.ComponentResource {
    readonly groups: k8s.yaml.v2.ConfigGroup[];

    constructor(name: string, args: AddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:mesh:Addons", name, {}, opts);
        this.groups = args.addons.map((addon) => {
            const manifest = args.release.sample("addons", `${addon}.yaml`).apply((file) => toManifest(prepareAddonObjects(fs.readFileSync(file, "utf8"))));
            return new k8s.yaml.v2.ConfigGroup(
                `addon-${addon}`,
                { yaml: manifest },
                { parent: this, provider: args.provider, dependsOn: [args.namespace, ...args.imagesFor(addon)] },
            );
        });
        this.registerOutputs({ addons: args.addons });
    }
}
