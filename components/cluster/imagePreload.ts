import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { canonicalImage, familiarImage, imageArchiveFileName, uniqueImages } from "./images";
import { scriptCommand } from "../scripts";

/**
 * The load command's name: the image in Docker's short form, which is one-to-one with the canonical name,
 * so `a/b:c` and `a-b:c` never share a name. Pulumi takes a resource name up to the last `::` of the URN
 * (@pulumi/pulumi resource.ts createUrn), and no image reference holds `::`.
 */
export function loadName(prefix: string, image: string): string {
    return `${prefix}-${familiarImage(image)}`;
}

/** The name of earlier releases, which folded '/', ':' and '@' to '-' and so could collide. */
export function legacyLoadName(prefix: string, image: string): string {
    return `${prefix}-${familiarImage(image).replace(/[/:@]/g, "-")}`;
}

export interface ImagePreloadArgs {
    /** Any reference form; each image is loaded once, under its canonical name. */
    images: string[];
    archiveDir: string;
    profile: string;
    /** The cluster's start command: loads need a running profile, and a new cluster needs them again. */
    cluster: command.local.Command;
}

/**
 * One command per image, side by side: reuse its archive or pull and save it, then load it into the
 * minikube profile. No load waits for another; each waits only for the cluster.
 */
export class ImagePreload extends pulumi.ComponentResource {
    private readonly loads = new Map<string, command.local.Command>();
    /** Canonical names of the images loaded, sorted. */
    readonly images: string[];

    constructor(name: string, args: ImagePreloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:images:ImagePreload", name, {}, opts);
        const images = uniqueImages(args.images);
        const legacyNames = images.map((image) => legacyLoadName(name, image));
        images.forEach((image, index) => {
            const legacy = legacyNames[index];
            // Stacks made before names were injective keep their load commands (no re-load), unless two
            // images shared that old name.
            const aliases = legacyNames.filter((n) => n === legacy).length === 1 ? [{ name: legacy }] : [];
            const load = new command.local.Command(
                loadName(name, image),
                {
                    create: scriptCommand("image-preload.sh"),
                    delete: scriptCommand("image-remove.sh"),
                    environment: {
                        PRELOAD_IMAGE: image,
                        IMAGE_ARCHIVE_DIR: args.archiveDir,
                        IMAGE_ARCHIVE_FILE: imageArchiveFileName(image),
                        MINIKUBE_PROFILE: args.profile,
                    },
                    triggers: [image, args.profile, args.cluster.id],
                },
                { parent: this, dependsOn: [args.cluster], aliases },
            );
            this.loads.set(image, load);
        });
        this.images = [...this.loads.keys()];
        this.registerOutputs({ images: this.images });
    }

    /** The load commands of these images, for `dependsOn`; images not preloaded are skipped. */
    loadsOf(images: readonly string[]): command.local.Command[] {
        return uniqueImages([...images])
            .map((image) => this.loads.get(canonicalImage(image)))
            .filter((load): load is command.local.Command => load !== undefined);
    }
}
