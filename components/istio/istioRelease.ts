import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { scriptCommand } from "../scripts";

/** Istio publishes one archive per platform (istio/istio release/downloadIstioCandidate.sh). */
export function istioPlatform(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
    const os = platform === "darwin" ? "osx" : "linux";
    if (arch === "arm64") return `${os}-arm64`;
    return os === "osx" ? "osx" : "linux-amd64";
}

export function istioReleaseUrl(version: string, platform: string): string {
    return `https://github.com/istio/istio/releases/download/${version}/istio-${version}-${platform}.tar.gz`;
}

/** What components/scripts/istio-release.sh leaves in a release folder once it is complete. */
const UNPACKED_MARKER = ".istio-minikube-complete";

/**
 * What a preview says when the release is not in the cache yet (a fresh machine, a new istio.version):
 * every chart and YAML group read from it has unknown inputs, and the Kubernetes provider then registers
 * no children and warns once per component: "Input properties have unknown values. Preview is incomplete."
 * (pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go and yaml/v2/configgroup.go Construct).
 * Nothing when there is nothing to explain, in the update itself (an `up` says it in its preview), or when
 * the missing minikube profile's message already did.
 */
export function releasePreviewWarning(opts: { dryRun: boolean; unpacked: boolean; version: string; cacheDir: string; explainedAlready: boolean }): string | undefined {
    if (!opts.dryRun || opts.unpacked || opts.explainedAlready) return undefined;
    return (
        `Istio ${opts.version} is not unpacked in ${opts.cacheDir} yet: 'pulumi up' fetches it (or reads istio.releaseArchive) ` +
        `and unpacks it first. Until then ` +
        `nothing can be read from it, so this preview lists Istio's charts, the gateway chart, the samples and the dashboards ` +
        `without the objects in them, and the Kubernetes provider says "Preview is incomplete" once for each of them. That is ` +
        `expected: 'pulumi up' renders and creates them all in the same run, and every later preview lists their objects.`
    );
}

export interface IstioReleaseArgs {
    version: string;
    /** A local `istio-<version>-<platform>.tar.gz` (with its `.sha256` beside it) instead of downloading. */
    releaseArchive?: string;
    /** Another download location of the archive (a mirror), with its `.sha256` at the same URL plus `.sha256`. */
    releaseUrl?: string;
    /** Shared by every stack on this machine; one folder per version. */
    cacheDir: string;
    platform?: string;
}

/**
 * One pinned Istio release, downloaded (or taken from disk), checked against its published sha256 and
 * unpacked once into a cache folder. Gives the charts, the samples and istioctl of that release.
 * Its paths are known only after `pulumi up` has run it, so nothing reads them during the first preview.
 */
export class IstioRelease extends pulumi.ComponentResource {
    readonly version: string;
    /** The unpacked `istio-<version>` folder. */
    readonly releaseDir: pulumi.Output<string>;
    /** Whether the release is unpacked in the cache already (by another stack or an earlier run of this one). */
    readonly unpacked: boolean;
    private readonly unpackUrn: pulumi.Output<string>;
    /** Where the script unpacks this version (components/scripts/istio-release.sh release_dir). */
    private readonly expectedDir: string;

    constructor(name: string, args: IstioReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:istio:IstioRelease", name, {}, opts);
        this.version = args.version;
        const platform = args.platform ?? istioPlatform();
        const source: Record<string, string> = args.releaseArchive
            ? { ISTIO_RELEASE_ARCHIVE: args.releaseArchive }
            : { ISTIO_RELEASE_URL: args.releaseUrl ?? istioReleaseUrl(args.version, platform) };

        const unpack = new command.local.Command(
            `${name}-unpack`,
            {
                create: scriptCommand("istio-release.sh"),
                environment: { ISTIO_VERSION: args.version, ISTIO_CACHE_DIR: args.cacheDir, ...source },
                // Another version or source is another release. The unpacked folder stays in the cache
                // on destroy, for the next stack and for machines without internet.
                triggers: [args.version, platform, JSON.stringify(source)],
            },
            { parent: this },
        );
        this.releaseDir = unpack.stdout.apply((dir) => dir.trim());
        this.unpackUrn = unpack.urn;
        this.expectedDir = path.join(args.cacheDir, `istio-${args.version}`);
        this.unpacked = fs.existsSync(path.join(this.expectedDir, UNPACKED_MARKER));
        this.registerOutputs({ version: this.version, releaseDir: this.releaseDir });
    }

    /**
     * A path inside the release. When the release is unpacked already (another stack, an earlier run),
     * the path is known now, so even a preview renders the charts from it; it still waits for the unpack
     * command, through its URN. Otherwise it is known once `pulumi up` has unpacked the release, so a
     * preview on a fresh machine reads nothing. Resolving it checks that the cache is still there: a
     * folder removed by hand after `pulumi up` would otherwise surface as a puzzling Helm error.
     */
    path(...parts: string[]): pulumi.Output<string> {
        const known = path.join(this.expectedDir, ...parts);
        if (this.unpacked && fs.existsSync(known)) {
            return this.unpackUrn.apply(() => known);
        }
        return pulumi.all([this.releaseDir, this.unpackUrn]).apply(([dir, urn]) => {
            const full = path.join(dir, ...parts);
            if (!fs.existsSync(full)) {
                throw new pulumi.RunError(
                    `${full} is missing: the Istio ${this.version} release cache was removed after it was unpacked. ` +
                        `Unpack it again with: pulumi up --replace '${urn}'`,
                );
            }
            return full;
        });
    }

    get baseChart(): pulumi.Output<string> {
        return this.path("manifests", "charts", "base");
    }

    get istiodChart(): pulumi.Output<string> {
        return this.path("manifests", "charts", "istio-control", "istio-discovery");
    }

    get gatewayChart(): pulumi.Output<string> {
        return this.path("manifests", "charts", "gateway");
    }

    get istioctl(): pulumi.Output<string> {
        return this.path("bin", "istioctl");
    }

    sample(...parts: string[]): pulumi.Output<string> {
        return this.path("samples", ...parts);
    }
}
