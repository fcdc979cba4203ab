// What a rotation step must show, as one pure function of what the tier observed during it, so that the
// suites and the counter-test read the same verdict, and the unit tier can check the verdict itself
// (tests/rotation-step-findings.test.ts).
import type { IstiodRoll } from "./istiod";
import { programRefusals, ProbeResult } from "./podProbe";
import type { DataPlaneResult } from "./dataPlane";

export interface EngineStep {
    op: string;
    urn: string;
}

/** Operations that remove or recreate a resource. */
const REMOVING_OPS = ["delete", "replace", "create-replacement", "delete-replaced", "discard"];

/**
 * What an operation deleted or replaced but the checks (which a rotation replaces on purpose, to run again):
 * what no step of a rotation may list, in its preview or its `up`. The certificates are updated in place.
 */
export function unexpectedChanges(steps: EngineStep[]): string[] {
    return steps.filter((s) => REMOVING_OPS.includes(s.op) && !/::check-[a-z-]+$/.test(s.urn)).map((s) => `${s.op} ${s.urn}`);
}

export interface StepObservation {
    /** The engine's steps of the step's preview and of its up. */
    previewSteps: EngineStep[];
    upSteps: EngineStep[];
    /** The objects that hold certificates which the preview updates, and the ones the step should update. */
    updatedTrustObjects: string[];
    expectedTrustUpdates: string[];
    roll: IstiodRoll;
    probe: ProbeResult;
    dataPlane: DataPlaneResult;
}

/**
 * Everything wrong with a rotation step, empty when it did what an operator needs: nothing deleted or
 * replaced (preview and up), exactly the expected objects take new certificates, istiod rolled by its
 * Deployment (a new ReplicaSet) with a Ready istiod at every moment, no pod refused admission for any cause
 * the program answers for, every probe pod injected, and every request between two sidecars served.
 */
export function stepFindings(o: StepObservation): string[] {
    const findings: string[] = [];
    for (const change of unexpectedChanges(o.previewSteps)) findings.push(`the preview plans ${change}`);
    for (const change of unexpectedChanges(o.upSteps)) findings.push(`the up did ${change}`);
    if (JSON.stringify(o.updatedTrustObjects) !== JSON.stringify(o.expectedTrustUpdates)) {
        findings.push(`the preview updates [${o.updatedTrustObjects.join(", ")}] of the objects that hold certificates, not [${o.expectedTrustUpdates.join(", ")}]`);
    }
    if (o.roll.newReplicaSets.length === 0) findings.push("istiod did not roll: its Deployment made no new ReplicaSet");
    if (o.roll.samples === 0) findings.push("istiod's pods were never read");
    else if (o.roll.minReadyPods < 1) findings.push("at some moment no istiod pod was Ready");
    const refused = programRefusals(o.probe);
    if (refused > 0) findings.push(`${refused} pods refused: ${Object.entries(o.probe.refused).map(([c, n]) => `${n}× ${c}`).join("; ")}`);
    if (o.probe.notInjected > 0) findings.push(`${o.probe.notInjected} pods created without a sidecar`);
    if (o.probe.injected === 0) findings.push("the pod probe created no pod");
    if (o.dataPlane.requests === 0) findings.push("the data-plane probe sent no request");
    if (o.dataPlane.failed > 0) findings.push(`${o.dataPlane.failed} of ${o.dataPlane.requests} requests between sidecars failed: ${Object.entries(o.dataPlane.failures).map(([c, n]) => `${n}× ${c}`).join("; ")}`);
    return findings;
}
