// Graph measures over an offline plan: the longest chain of resources each waiting for the next.
import { Plan, PlannedResource } from "./offline-plan";

/** A resource `pulumi up` does work for: a custom resource, or a component a provider expands (chart, YAML). */
export function isStep(r: PlannedResource): boolean {
    return r.custom || r.remote;
}

/** Longest dependency chain among steps (what `pulumi up` must do one after another). */
export function longestChain(plan: Plan): PlannedResource[] {
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const memo = new Map<string, PlannedResource[]>();
    const chainTo = (r: PlannedResource, visiting: Set<string>): PlannedResource[] => {
        const known = memo.get(r.urn);
        if (known) return known;
        if (visiting.has(r.urn)) throw new Error(`dependency cycle through ${r.name}`);
        visiting.add(r.urn);
        let best: PlannedResource[] = [];
        for (const dep of r.dependsOn) {
            const d = byUrn.get(dep);
            if (!d || !isStep(d)) continue;
            const candidate = chainTo(d, visiting);
            if (candidate.length > best.length) best = candidate;
        }
        visiting.delete(r.urn);
        const chain = [...best, r];
        memo.set(r.urn, chain);
        return chain;
    };
    let longest: PlannedResource[] = [];
    for (const r of plan.resources.filter(isStep)) {
        const chain = chainTo(r, new Set());
        if (chain.length > longest.length) longest = chain;
    }
    return longest;
}

/** Resources of `type` whose waits include another resource of the same type under the same parent. */
export function chainedSiblings(plan: Plan, type: string): PlannedResource[] {
    const same = plan.resources.filter((r) => r.type === type);
    const urns = new Set(same.map((r) => r.urn));
    return same.filter((r) => r.dependsOn.some((d) => urns.has(d) && plan.resources.find((x) => x.urn === d)?.parent === r.parent));
}
