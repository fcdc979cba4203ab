// Human-readable views of an offline plan: an indented tree, and a Mermaid graph for the README.
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
 * A Mermaid flowchart: components as boxes holding their resources, an arrow from each resource to what it
 * waits for. Deterministic, so the README copy can be checked against the program.
 */
export function renderMermaid(plan: Plan): string {
    const ids = new Map(plan.resources.map((r, i) => [r.urn, `r${i}`]));
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const lines = ["flowchart LR"];
    const emit = (parent: string | null, indent: string) => {
        for (const r of plan.resources.filter((x) => (x.parent ?? null) === parent)) {
            const kids = plan.resources.some((x) => x.parent === r.urn);
            const label = `${r.name}<br/><small>${shortType(r.type)}</small>`;
            if (r.type === STACK_TYPE) {
                emit(r.urn, indent);
            } else if (kids) {
                lines.push(`${indent}subgraph ${ids.get(r.urn)}["${label}"]`);
                emit(r.urn, `${indent}  `);
                lines.push(`${indent}end`);
            } else {
                lines.push(`${indent}${ids.get(r.urn)}["${label}"]`);
            }
        }
    };
    emit(null, "  ");
    for (const r of plan.resources) {
        if (!r.custom) continue;
        for (const dep of r.dependsOn) {
            const target = byUrn.get(dep);
            if (target && target.custom) lines.push(`  ${ids.get(dep)} --> ${ids.get(r.urn)}`);
        }
    }
    return `${lines.join("\n")}\n`;
}
