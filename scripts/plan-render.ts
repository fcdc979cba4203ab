// Human-readable views of an offline plan: an indented tree, and a Mermaid graph for docs/architecture.md.
import { Plan, PlannedResource } from "./offline-plan";

const STACK_TYPE = "pulumi:pulumi:Stack";

function shortType(type: string): string {
    return type.replace(/^pulumi:providers:/, "provider:");
}

/** Resources by parent, each with what it waits for (by name, outside its own subtree). */
export function renderTree(plan: Plan): string {
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const children = new Map<string | null, PlannedResource[]>();
    for (const r of plan.resources) {
        const parent = r.parent && byUrn.has(r.parent) ? r.parent : null;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const lines = [`Offline plan for ${plan.project}/${plan.stack}: ${plan.resources.length} resources`, ""];
    const walk = (parent: string | null, depth: number) => {
        for (const r of children.get(parent) ?? []) {
            const waits = r.dependsOn
                .map((urn) => byUrn.get(urn))
                .filter((d): d is PlannedResource => d !== undefined && d.type !== STACK_TYPE)
                .map((d) => d.name);
            const suffix = waits.length > 0 ? `   <- ${waits.join(", ")}` : "";
            lines.push(`${"  ".repeat(depth)}${r.name} (${shortType(r.type)})${suffix}`);
            walk(r.urn, depth + 1);
        }
    };
    walk(null, 0);
    return `${lines.join("\n")}\n`;
}

/**
 * A Mermaid flowchart of the stack's top-level parts (components, and resources outside any): an arrow
 * A --> B when something in B waits for something in A. Deterministic, so the copy in docs/architecture.md can be
 * checked against the program.
 */
export function renderMermaid(plan: Plan): string {
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const stack = plan.resources.find((r) => r.type === STACK_TYPE);
    const topOf = (r: PlannedResource): PlannedResource => {
        let current = r;
        while (current.parent && current.parent !== stack?.urn && byUrn.has(current.parent)) current = byUrn.get(current.parent)!;
        return current;
    };
    const tops = plan.resources.filter((r) => r.type !== STACK_TYPE && (r.parent === stack?.urn || r.parent === null));
    const ids = new Map(tops.map((r, i) => [r.urn, `n${i}`]));
    const lines = ["flowchart LR"];
    for (const top of tops) {
        const count = plan.resources.filter((r) => r !== top && topOf(r) === top).length;
        const kind = top.type.split(":").pop();
        const detail = count > 0 ? `${kind}, ${count} resource${count === 1 ? "" : "s"}` : kind;
        lines.push(`  ${ids.get(top.urn)}["${top.name}<br/><small>${detail}</small>"]`);
    }
    const edges = new Set<string>();
    for (const r of plan.resources) {
        if (r.type === STACK_TYPE) continue;
        const to = topOf(r);
        for (const dep of r.dependsOn) {
            const target = byUrn.get(dep);
            if (!target || target.type === STACK_TYPE) continue;
            const from = topOf(target);
            if (from !== to) edges.add(`  ${ids.get(from.urn)} --> ${ids.get(to.urn)}`);
        }
    }
    lines.push(...[...edges].sort());
    return `${lines.join("\n")}\n`;
}
