// The offline plan: evaluates index.ts under Pulumi's mock runtime (no Pulumi CLI, no engine, no cluster),
// reading Pulumi.yaml and Pulumi.<stack>.yaml as the CLI would, and records every resource registration:
// its parent, everything it waits for, its provider, its inputs and outputs. Dynamic resources run their
// real `create`, loaded from the serialized provider exactly as Pulumi's dynamic-provider host loads it
// (@pulumi/pulumi cmd/dynamic-provider/index.js, getProvider: requireFromString(text).handler()).
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export const SECRET = "[secret]";
/** What a value not known until `pulumi up` runs (a command's stdout on create) shows as. */
export const UNKNOWN = "[unknown]";
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // @pulumi/pulumi runtime/rpc.ts unknownValue
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"; // @pulumi/pulumi runtime/rpc.ts specialSigKey
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"; // specialSecretSig
const DYNAMIC_PROVIDER_KEY = "__provider";

export interface PlannedResource {
    urn: string;
    type: string;
    name: string;
    parent: string | null;
    /** Everything this resource waits for: explicit dependsOn, resources behind its inputs, and its provider. */
    dependsOn: string[];
    /** The provider reference (`urn::id`) of a custom resource, when it has an explicit one. */
    provider: string | null;
    custom: boolean;
    /** A component a provider expands (Helm chart, YAML group): its children do real work in `pulumi up`. */
    remote: boolean;
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
}

export interface Plan {
    project: string;
    stack: string;
    resources: PlannedResource[];
}

export class PlanError extends Error {}

/**
 * Kept on each plan, not enumerable (so never printed): its dynamic resources' state as the provider returned
 * it, secrets included, to replay; and its inputs by URN with secrets in the clear, for tests of what a
 * Secret holds. A registered symbol, as the tests load this module afresh for every plan.
 */
const IN_THE_CLEAR = Symbol.for("istio-minikube/offline-plan/in-the-clear");
interface InTheClear {
    dynamicState: Map<string, Record<string, unknown>>;
    inputs: Map<string, Record<string, unknown>>;
}
const inTheClear = (plan: Plan | undefined): InTheClear | undefined => (plan as unknown as Record<symbol, InTheClear> | undefined)?.[IN_THE_CLEAR];

/** A planned resource's inputs with its secrets in the clear (the plan itself shows "[secret]"). */
export function inputsInTheClear(plan: Plan, urn: string): Record<string, unknown> {
    const inputs = inTheClear(plan)?.inputs.get(urn);
    if (!inputs) throw new PlanError(`the plan has no resource ${urn}`);
    return inputs;
}

/**
 * A plan as plain data, with what it keeps in the clear (secrets included): how a plan made in another
 * process (tests/helpers/plan-child.ts) crosses to the one that reads it, and back as a `previous` plan.
 */
export interface PlanTransfer {
    plan: Plan;
    dynamicState: [string, Record<string, unknown>][];
    inputs: [string, Record<string, unknown>][];
}

export function planToTransfer(plan: Plan): PlanTransfer {
    const clear = inTheClear(plan);
    return { plan: { ...plan }, dynamicState: [...(clear?.dynamicState ?? [])], inputs: [...(clear?.inputs ?? [])] };
}

export function planFromTransfer(transfer: PlanTransfer): Plan {
    const plan = { ...transfer.plan };
    Object.defineProperty(plan, IN_THE_CLEAR, { value: { dynamicState: new Map(transfer.dynamicState), inputs: new Map(transfer.inputs) } satisfies InTheClear, enumerable: false });
    return plan;
}

/** How a plan's maps name a resource: its type and name (the URN's tail). */
const key = (type: string, name: string) => `${type}::${name}`;

/** A planned dynamic resource's state as its provider returned it, secrets in the clear. */
export function stateInTheClear(plan: Plan, type: string, name: string): Record<string, unknown> {
    const state = inTheClear(plan)?.dynamicState.get(key(type, name));
    if (!state) throw new PlanError(`the plan has no dynamic resource ${type} ${name}`);
    return state;
}

export interface PlanOptions {
    projectDir: string;
    stack: string;
    /** `key=value` in the form of `pulumi config set --path`: `minikube.cpus=2`, `injection.auto[0]=demo`. */
    config?: string[];
    /**
     * Plan what `pulumi up` leaves in the stack's state, instead of a first preview: the program runs as an
     * update (not a dry run), and every command has run, so its stdout is known (its stdin, for a command
     * that takes one, as `istioctl kube-inject` prints its input back injected; else a placeholder).
     */
    afterUp?: boolean;
    /**
     * The state an earlier `up` left (a plan made with `afterUp`): plan the preview of the next update as
     * the engine sees it. A command or the certificates whose inputs are unchanged keep the outputs they
     * have in state; one that is created, updated or replaced has unknown outputs until `up` runs it
     * (pulumi-command 1.2.1 in a preview; a dynamic resource, whose provider has no preview). With
     * `afterUp` too, the certificates' provider runs its real diff and update (or create) on the previous
     * state: the state the next `up` leaves.
     */
    previous?: Plan;
}

/** Reads the project name and the stack's config the way the Pulumi CLI does, with `--config` overrides. */
export function readStackConfig(options: PlanOptions): { project: string; config: Record<string, string> } {
    const projectFile = path.join(options.projectDir, "Pulumi.yaml");
    const project = YAML.parse(fs.readFileSync(projectFile, "utf8")) as {
        name: string;
        config?: Record<string, { default?: unknown; value?: unknown }>;
    };
    const stackFile = path.join(options.projectDir, `Pulumi.${options.stack}.yaml`);
    if (!/^[A-Za-z0-9._-]+$/.test(options.stack) || !fs.existsSync(stackFile)) {
        const stacks = fs
            .readdirSync(options.projectDir)
            .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
            .filter((s): s is string => s !== undefined);
        throw new PlanError(`No stack file Pulumi.${options.stack}.yaml; the stacks are: ${stacks.join(", ")}`);
    }
    const stackDoc = (YAML.parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };

    const structured: Record<string, unknown> = {};
    const qualify = (key: string) => (key.includes(":") ? key : `${project.name}:${key}`);
    // Project-level `config:` entries with a default or value apply unless the stack sets the key
    // (pulumi/pulumi sdk/go/common/workspace/project.go, ProjectConfigType; `pulumi config` docs).
    for (const [key, spec] of Object.entries(project.config ?? {})) {
        const fallback = spec?.value ?? spec?.default;
        if (fallback !== undefined) structured[qualify(key)] = fallback;
    }
    for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
        if (value !== null && typeof value === "object" && "secure" in value) {
            throw new PlanError(`${key} is an encrypted secret; the offline plan cannot decrypt it: override it with --config`);
        }
        structured[qualify(key)] = value;
    }
    for (const assignment of options.config ?? []) applyPathAssignment(structured, assignment, project.name);

    // The CLI passes each value as a string: plain strings as they are, everything else as JSON
    // (sdk/nodejs/runtime/config.ts reads PULUMI_CONFIG, a map of strings).
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(structured)) {
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { project: project.name, config };
}

/** `pulumi config set --path` parses `true`/`false` and integers; everything else stays a string. */
function parseScalar(text: string): unknown {
    if (text === "true") return true;
    if (text === "false") return false;
    if (/^-?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
    return text;
}

function applyPathAssignment(config: Record<string, unknown>, assignment: string, project: string): void {
    const eq = assignment.indexOf("=");
    if (eq <= 0) throw new PlanError(`--config ${JSON.stringify(assignment)}: expected KEY=VALUE, e.g. minikube.cpus=2`);
    const keyPath = assignment.slice(0, eq);
    const value = parseScalar(assignment.slice(eq + 1));
    if (!/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_-]+|\[\d+\])*$/.test(keyPath)) {
        throw new PlanError(`--config ${JSON.stringify(assignment)}: "${keyPath}" is not a key path like minikube.cpus or injection.auto[0]`);
    }
    const segments = [...keyPath.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
    // `istio-minikube:minikube.cpus` names the namespace explicitly; a bare first segment gets the project's.
    const head = String(segments[0]).includes(":") ? String(segments[0]) : `${project}:${segments[0]}`;
    const rest = segments.slice(1);
    if (rest.length === 0) {
        config[head] = value;
        return;
    }
    let node = (config[head] ??= typeof rest[0] === "number" ? [] : {}) as Record<string | number, unknown>;
    for (let i = 0; i < rest.length - 1; i++) {
        node[rest[i]] ??= typeof rest[i + 1] === "number" ? [] : {};
        node = node[rest[i]] as Record<string | number, unknown>;
    }
    node[rest[rest.length - 1]] = value;
}

function isSecretWrapper(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Copies a deserialized property value, giving each secret wrapper and each other leaf to a function. */
function mapValue(value: unknown, onSecret: (inner: unknown) => unknown, onLeaf: (leaf: unknown) => unknown): unknown {
    if (isSecretWrapper(value)) return onSecret(value.value);
    if (Array.isArray(value)) return value.map((v) => mapValue(v, onSecret, onLeaf));
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapValue(v, onSecret, onLeaf)]));
    }
    return onLeaf(value);
}

/**
 * Replaces every secret with "[secret]" and every unknown with "[unknown]"; leaves the rest as it is. A secret
 * whose value is not known yet is "[unknown]": it holds nothing to hide, and what the plan must show is that
 * it waits for `up`. (@pulumi/pulumi 3.248.0 sent such a value as a plain unknown; 3.276.0 keeps the secret
 * mark on it: runtime/rpc.js serializeProperty, "Preserve the secret marker even when the value is unknown".)
 */
export function redact(value: unknown): unknown {
    return mapValue(value, (inner) => (inner === UNKNOWN_SENTINEL ? UNKNOWN : SECRET), (leaf) => (leaf === UNKNOWN_SENTINEL ? UNKNOWN : leaf));
}

/** JSON with object keys sorted, so two registrations of the same inputs compare equal. */
function stableJson(value: unknown): string {
    return JSON.stringify(value, (_key, v) =>
        v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
    );
}

/** The plain values, as a dynamic provider's `create` receives them. */
function unwrapSecrets(value: unknown): unknown {
    return mapValue(value, unwrapSecrets, (leaf) => leaf);
}

function summarizeDynamicProvider(inputs: Record<string, unknown>): Record<string, unknown> {
    const text = inputs[DYNAMIC_PROVIDER_KEY];
    if (typeof text !== "string") return inputs;
    return { ...inputs, [DYNAMIC_PROVIDER_KEY]: `<serialized dynamic provider, ${text.length} bytes>` };
}

/**
 * Evaluates the program once. The Pulumi runtime keeps one global store per process (@pulumi/pulumi
 * runtime/state.js): a caller that evaluates again in the same process clears it first, and loads the
 * program's own modules afresh (tests/helpers/plan-child.ts).
 */
export async function evaluatePlan(options: PlanOptions): Promise<Plan> {
    const { project, config } = readStackConfig(options);
    // Loaded here, not at the top, so callers can give each evaluation a fresh runtime.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string") as (code: string, filename?: string) => any;

    const records = new Map<string, PlannedResource>();
    const order: string[] = [];
    /** What each registration sent, redacted as the plan records it: what the mocks compare with the previous state. */
    const sent = new Map<string, Record<string, unknown>>();
    const previous = new Map((options.previous?.resources ?? []).map((r) => [key(r.type, r.name), r]));
    const dynamicState = new Map<string, Record<string, unknown>>();
    const clearInputs = new Map<string, Record<string, unknown>>();
    /** Inputs a dynamic provider's check changed, as the state keeps them. */
    const checkedInputs = new Map<string, Record<string, unknown>>();
    /** The previous state's record when this registration sends the same inputs, i.e. the engine plans no change. */
    const unchanged = (type: string, name: string): PlannedResource | undefined => {
        const before = previous.get(key(type, name));
        return before && stableJson(before.inputs) === stableJson(sent.get(key(type, name))) ? before : undefined;
    };

    /** Reasons a provider's check refused inputs for. */
    const refusals: string[] = [];
    const mocks: import("@pulumi/pulumi").runtime.Mocks = {
        async newResource(args) {
            const inputs = args.inputs as Record<string, unknown>;
            if (args.type.startsWith("pulumi-nodejs:dynamic")) {
                const before = previous.get(key(args.type, args.name));
                const providerText = inputs[DYNAMIC_PROVIDER_KEY] as string;
                const provider = requireFromString(providerText, path.join(options.projectDir, "dynamic-provider.js")).handler();
                let props = unwrapSecrets({ ...inputs }) as Record<string, unknown>;
                delete props[DYNAMIC_PROVIDER_KEY];
                const record = (id: string, outs: Record<string, unknown> | undefined) => {
                    dynamicState.set(key(args.type, args.name), { id, ...(outs ?? {}) });
                    return { id, state: { ...inputs, ...(outs ?? {}) } };
                };
                if (before) {
                    const kept = unchanged(args.type, args.name);
                    const olds = inTheClear(options.previous)?.dynamicState.get(key(args.type, args.name));
                    if (kept && olds) {
                        const { id, ...outs } = olds;
                        return record(id as string, outs);
                    }
                    if (kept) return { id: `${args.name}-id`, state: { ...inputs, ...kept.outputs } };
                    if (olds) {
                        // What preview and `up` both do: the provider's check against the inputs of the last
                        // run, then its diff; no change keeps the outputs (pulumi pkg/resource/deploy/step.go SameStep).
                        const oldInputs = Object.fromEntries(
                            Object.entries(inTheClear(options.previous)?.inputs.get(before.urn) ?? {}).filter(([k, v]) => k !== DYNAMIC_PROVIDER_KEY && v !== undefined && v !== null),
                        );
                        const checked = provider.check ? await provider.check(oldInputs, props) : {};
                        const failures = checked.failures ?? [];
                        if (failures.length > 0) {
                            // The engine stops the run here; the plan does once the program has finished registering.
                            refusals.push(...failures.map((f: { reason: string }) => f.reason));
                            return { id: "", state: { ...inputs } };
                        }
                        // The engine diffs, updates and keeps as the state's inputs what check returned
                        // (pulumi pkg/resource/deploy/step_generator.go: new.Inputs); the plan records what differs.
                        const changedByCheck = Object.entries((checked.inputs ?? props) as Record<string, unknown>).filter(([k, v]) => stableJson(v) !== stableJson(props[k]));
                        if (changedByCheck.length > 0) {
                            checkedInputs.set(key(args.type, args.name), Object.fromEntries(changedByCheck));
                            props = { ...props, ...Object.fromEntries(changedByCheck) };
                        }
                        const { id, ...oldOutputs } = olds;
                        const diff = await provider.diff(id, unwrapSecrets(oldOutputs), props);
                        if (!diff.changes) return record(id as string, oldOutputs);
                    }
                    if (options.afterUp && olds) {
                        // What `up` does next: the provider's update, or a replacement's create.
                        const { id, ...oldOutputs } = olds;
                        const diff = await provider.diff(id, unwrapSecrets(oldOutputs), props);
                        if ((diff.replaces ?? []).length > 0) {
                            const created = await provider.create(props);
                            return record(created.id, created.outs);
                        }
                        return record(id as string, (await provider.update(id, unwrapSecrets(oldOutputs), props)).outs);
                    }
                    // Updated or replaced: its new outputs are made during `up`.
                    const unknownOutputs = Object.fromEntries(Object.keys(before.outputs).filter((k) => !(k in inputs) || inputs[k] === undefined).map((k) => [k, UNKNOWN_SENTINEL]));
                    return { id: "", state: { ...inputs, ...unknownOutputs } };
                }
                const result = await provider.create(props);
                return record(result.id, result.outs);
            }
            if (args.type === "command:local:Command") {
                const kept = unchanged(args.type, args.name);
                if (kept) return { id: `${args.name}-id`, state: { ...inputs, stdout: kept.outputs.stdout, stderr: kept.outputs.stderr } };
                if (options.afterUp) return { id: `${args.name}-id`, state: { ...inputs, stdout: stdoutAfterUp(args.name, inputs), stderr: "" } };
            }
            return { id: `${args.name}-id`, state: { ...inputs, ...mockOutputs(args.type, inputs) } };
        },
        async call(args) {
            throw new PlanError(`the offline plan has no mock for the function ${args.token}`);
        },
    };
    await pulumi.runtime.setMocks(mocks, project, options.stack, !options.afterUp);
    pulumi.runtime.setAllConfig(config);

    const monitor = pulumi.runtime.getMonitor() as any;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
        sent.set(key(req.getType(), req.getName()), redact(summarizeDynamicProvider(req.getObject()?.toJavaScript() ?? {})) as Record<string, unknown>);
        registerResource(req, (err: unknown, resp: any) => {
            if (!err) {
                const urn: string = resp.getUrn();
                const inputs = { ...summarizeDynamicProvider(req.getObject()?.toJavaScript() ?? {}), ...checkedInputs.get(key(req.getType(), req.getName())) };
                clearInputs.set(urn, unwrapSecrets(inputs) as Record<string, unknown>);
                const secretOutputs = new Set<string>(req.getAdditionalsecretoutputsList());
                const state = (resp.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
                const outputs = Object.fromEntries(
                    Object.entries(summarizeDynamicProvider(state)).map(([k, value]) => [k, secretOutputs.has(k) ? SECRET : redact(value)]),
                );
                const provider: string = req.getProvider() || "";
                const dependsOn = new Set<string>(req.getDependenciesList());
                if (provider) dependsOn.add(provider.split("::").slice(0, -1).join("::"));
                records.set(urn, {
                    urn,
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent() || null,
                    dependsOn: [...dependsOn].sort(),
                    provider: provider ? provider.split("::").slice(0, -1).join("::") : null,
                    custom: req.getCustom(),
                    remote: req.getRemote(),
                    inputs: redact(inputs) as Record<string, unknown>,
                    outputs,
                });
                order.push(urn);
            }
            callback(err, resp);
        });
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: unknown, resp: any) => void) => {
        const record = records.get(req.getUrn());
        if (record) record.outputs = redact(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
        registerOutputs(req, callback);
    };

    const program = path.join(options.projectDir, "index.ts");
    const previousCwd = process.cwd();
    const previousOffline = process.env.ISTIO_MINIKUBE_OFFLINE_PLAN;
    process.chdir(options.projectDir); // Pulumi runs the program in the project folder
    process.env.ISTIO_MINIKUBE_OFFLINE_PLAN = "1"; // the plan runs nothing on the host
    try {
        await pulumi.runtime.runInPulumiStack(async () => require(program));
        // Let registrations still in flight finish (runtime/settings.js waitForRPCs: internal, not in the typings).
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    } finally {
        process.chdir(previousCwd);
        if (previousOffline === undefined) delete process.env.ISTIO_MINIKUBE_OFFLINE_PLAN;
        else process.env.ISTIO_MINIKUBE_OFFLINE_PLAN = previousOffline;
    }
    if (refusals.length > 0) throw new PlanError(refusals.join("\n"));
    return planFromTransfer({ plan: { project, stack: options.stack, resources: order.map((urn) => records.get(urn)!) }, dynamicState: [...dynamicState], inputs: [...clearInputs] });
}

/**
 * What a command printed in a successful `up`, as far as the program reads it: a check's result line
 * (components/scripts/checks/check-lib.sh), the input of a command that prints it back transformed
 * (`istioctl kube-inject`), or a placeholder.
 */
function stdoutAfterUp(name: string, inputs: Record<string, unknown>): string {
    const checkName = (inputs.environment as Record<string, unknown> | undefined)?.CHECK_NAME;
    if (typeof checkName === "string") return JSON.stringify({ check: checkName, status: "pass", detail: "passed (offline plan)" });
    return typeof inputs.stdin === "string" ? inputs.stdin : `${name} stdout`;
}

/**
 * Outputs a real provider adds, as a first `pulumi preview` sees them; everything else echoes the inputs.
 * A command's stdout is unknown until it runs (pulumi-command infer markComputed on create), so whatever
 * the program derives from it stays unknown in the plan too, exactly as in that preview.
 */
function mockOutputs(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
    if (type === "command:local:Command") {
        return { stdout: UNKNOWN_SENTINEL, stderr: UNKNOWN_SENTINEL };
    }
    if (type.startsWith("kubernetes:") && typeof inputs.metadata === "object" && inputs.metadata !== null) {
        return { status: {} };
    }
    return {};
}
