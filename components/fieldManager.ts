// One server-side-apply field manager per stack for every Kubernetes object the program makes.
//
// pulumi-kubernetes names the manager it applies with (provider.go fieldManagerName, the pinned commit
// f47bc2d6f199 and HEAD alike): the annotation pulumi.com/patchFieldManager on the object's inputs first,
// then the name stored in the resource's state (`__fieldManager`, written only when a create or update
// returns), else a random `pulumi-kubernetes-<8 hex>`. So a run killed while it creates an object leaves the
// object owned by a random manager that no state knows, and the next run applies it again under another random
// one: both own every field, and the first field the program changes later conflicts with the lost one
// (`conflict with "pulumi-kubernetes-965229e0": .spec.template.metadata.annotations...`). With the same name in
// both runs the second apply is the same manager's and the object has one owner.
//
// What it costs: the annotation is visible on each object; changing the manager of an object that exists
// updates it once (the provider applies under the new name, then gives up every field of the old one,
// provider.go Update -> ssa.Relinquish). Patch resources keep their own managers: the annotation would land
// on an object they share with others, and two patchers of one object need names of their own.
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";

export const FIELD_MANAGER_ANNOTATION = "pulumi.com/patchFieldManager";

/** The API server's limit for a field manager (apimachinery pkg/apis/meta/v1/validation ValidateFieldManager: at most 128 bytes, all printable). */
export const FIELD_MANAGER_MAX_LENGTH = 128;

/**
 * The stack's field manager: `pulumi/<project>/<stack>` (neither a project nor a stack name holds a `/`, so
 * no two stacks share it); longer than the API server allows, the first characters and a hash of the whole.
 */
export function stackFieldManager(project: string, stack: string): string {
    const plain = `pulumi/${project}/${stack}`;
    if (plain.length <= FIELD_MANAGER_MAX_LENGTH) return plain;
    const hash = createHash("sha256").update(plain).digest("hex").slice(0, 16);
    return `${plain.slice(0, FIELD_MANAGER_MAX_LENGTH - hash.length - 1)}-${hash}`;
}

/** A Kubernetes object the provider applies whole: not a provider, a component (Chart, ConfigGroup) or a Patch. */
export function ownsWholeObject(type: string, custom: boolean): boolean {
    return custom && type.startsWith("kubernetes:") && !type.endsWith("Patch");
}

/** The object's metadata with the stack's field manager among its annotations. */
export function withFieldManager<M extends { name: string; annotations?: Record<string, string> }>(metadata: M, fieldManager: string): M & { annotations: Record<string, string> } {
    return { ...metadata, annotations: { ...(metadata.annotations ?? {}), [FIELD_MANAGER_ANNOTATION]: fieldManager } };
}

type Plain = Record<string, unknown>;
/** How a secret value reaches a transform: `{ [key]: sig, value }` (@pulumi/pulumi runtime/rpc.ts specialSigKey). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
/**
 * Plain data the transform may rebuild: not an output, not a value unknown in a preview (an instance of the
 * SDK's Unknown), not a secret's wrapper.
 */
const isPlainObject = (value: unknown): value is Plain =>
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    [Object.prototype, null].includes(Object.getPrototypeOf(value)) &&
    !(SECRET_SIG_KEY in value);

/**
 * The transform that gives the objects a provider constructs (the children of a helm.v4.Chart or a
 * yaml.v2.ConfigGroup, which the program never sees) the stack's field manager; the program's own typed
 * objects carry it already (withFieldManager), where the offline plan shows it. Registered for the whole stack
 * (index.ts): the engine runs stack transforms on every registration, a provider's Construct children
 * included (pulumi/pulumi pkg/resource/deploy/source_eval.go RegisterResource). Pulumi's mock runtime cannot
 * register transforms, so the offline plan goes without it.
 */
export function fieldManagerTransform(fieldManager: string): pulumi.ResourceTransform {
    return (args) => {
        if (!ownsWholeObject(args.type, args.custom)) return undefined;
        const metadata = args.props.metadata;
        if (metadata !== undefined && !isPlainObject(metadata)) return undefined;
        const annotations = (metadata ?? {}).annotations;
        if (annotations !== undefined && !isPlainObject(annotations)) return undefined;
        if (annotations?.[FIELD_MANAGER_ANNOTATION] === fieldManager) return undefined;
        return {
            props: { ...args.props, metadata: { ...(metadata ?? {}), annotations: { ...(annotations ?? {}), [FIELD_MANAGER_ANNOTATION]: fieldManager } } },
            opts: args.opts,
        };
    };
}
