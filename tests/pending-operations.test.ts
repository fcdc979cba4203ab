// scripts/pending-operations.js: which pending operations an interrupted run left are settled after the next
// run, over `pulumi stack export` documents in the shape Pulumi writes them (tests/fixtures/interrupted):
//   killed-up                 a first `up` SIGKILLed while istiod's Deployment (a chart's child) and the namespace
//                             manual-inject were being created and istiod's mesh ConfigMap updated
//   rerun-up                  the next `up` succeeded: both objects in the state, the two creates still pending
//                             (the engine copies creates forward, pulumi pkg/backend/snapshot.go), the update dropped
//   rerun-up-undeclared       the same, after manual-inject left the config: it is not in the state
//   destroyed                 a destroy of that minikube stack succeeded: no resources, the creates still pending
//   destroyed-start-killed    a first `up` killed during `minikube start`, then destroyed: nothing in the state
import * as fs from "fs";
import * as path from "path";

type Op = { type: string; resource: { urn: string; type: string } };
type Exported = { version: number; deployment: { resources?: { urn: string }[]; pending_operations?: Op[] } };
const pending = require("../scripts/pending-operations.js") as {
    pendingOperations(exported: unknown): Op[];
    describeOperation(op: Op): { text: string };
    reconcile(exported: unknown, run: { after: "up" | "destroy"; wasMinikube?: boolean }): { settled: Op[]; unsettled: Op[] };
    withoutOperations(exported: Exported, ops: Op[]): Exported;
    beforeNote(exported: unknown, stack: string, command?: string): { note: string; status: string };
    afterReport(exported: unknown, run: { after: "up" | "destroy"; wasMinikube?: boolean }, stack: string, context: string): { status: string; message: string };
};

const fixture = (name: string): Exported => JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "interrupted", `${name}.json`), "utf8"));
const urns = (ops: Op[]) => ops.map((op) => op.resource.urn.split("::").pop());

describe("before the run: what Pulumi's warning means", () => {
    test("a killed up's creates are named by kind, namespace and name; creates of Kubernetes objects mean the run may adopt", () => {
        const { note, status } = pending.beforeNote(fixture("killed-up"), "dev");
        expect(status).toBe("kubernetes");
        expect(note).toContain("an earlier run of stack 'dev' was interrupted while it created these 2");
        expect(note).toContain("  - Deployment istio-system/istiod\n  - Namespace manual-inject\n");
        expect(note).toContain("PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true for this run");
        // The update is not a create: the engine drops it by itself.
        expect(note).not.toContain("ConfigMap");
    });

    test("the minikube start is named by its profile, and needs no adopting", () => {
        const { note, status } = pending.beforeNote(fixture("destroyed-start-killed"), "dev");
        expect(status).toBe("pending");
        expect(note).toContain("the start of minikube profile istio-dev");
    });

    test.each([null, {}, { version: 3, deployment: null }, { version: 3, deployment: { resources: [] } }])("nothing pending (%j): no note", (exported) => {
        expect(pending.beforeNote(exported, "dev")).toEqual({ note: "", status: "none" });
    });

    test("only an update pending: nothing to do, the run's first state write drops it", () => {
        const exported = fixture("killed-up");
        exported.deployment.pending_operations = exported.deployment.pending_operations!.filter((op) => op.type !== "creating");
        expect(exported.deployment.pending_operations).toHaveLength(1);
        expect(pending.beforeNote(exported, "dev")).toEqual({ note: "", status: "none" });
    });
});

describe("after an up that succeeded", () => {
    test("creates whose resources are in the state now are settled: the state is imported without them", () => {
        const exported = fixture("rerun-up");
        const { settled, unsettled } = pending.reconcile(exported, { after: "up" });
        expect(urns(settled)).toEqual(["istiod:istio-system/istiod", "manual-inject"]);
        expect(unsettled).toEqual([]);
        const report = pending.afterReport(exported, { after: "up" }, "dev", "istio-dev");
        expect(report.status).toBe("import");
        expect(report.message).toContain("the 2 pending operations an interrupted run left in stack 'dev' are settled");
        const cleaned = pending.withoutOperations(exported, settled);
        expect(cleaned.deployment).not.toHaveProperty("pending_operations");
        // Nothing else changes: the resources are the same, in the same order.
        expect(cleaned.deployment.resources).toEqual(exported.deployment.resources);
        expect({ ...cleaned.deployment, pending_operations: exported.deployment.pending_operations }).toEqual(exported.deployment);
    });

    test("a create the program no longer declares is not settled: named with the command to look for it, and the state kept", () => {
        const exported = fixture("rerun-up-undeclared");
        const { settled, unsettled } = pending.reconcile(exported, { after: "up" });
        expect(urns(settled)).toEqual(["istiod:istio-system/istiod"]);
        expect(urns(unsettled)).toEqual(["manual-inject"]);
        const report = pending.afterReport(exported, { after: "up" }, "dev", "istio-dev");
        expect(report.status).toBe("keep");
        expect(report.message).toContain("1 pending operation in stack 'dev' that this up did not settle");
        expect(report.message).toContain("  - Namespace manual-inject: kubectl --context istio-dev get namespace manual-inject");
        expect(report.message).toContain("pulumi refresh --stack dev --clear-pending-creates --yes");
        expect(report.message).toContain("Settled already, cleared with them: Deployment istio-system/istiod");
    });

    test("operations other than creates (update, delete, read, import) are settled: the engine drops them itself", () => {
        const exported = fixture("killed-up");
        for (const type of ["updating", "deleting", "reading", "importing"]) {
            const ops = [{ ...exported.deployment.pending_operations![2], type }];
            const { settled, unsettled } = pending.reconcile({ ...exported, deployment: { ...exported.deployment, pending_operations: ops } }, { after: "up" });
            expect([settled.length, unsettled.length]).toEqual([1, 0]);
        }
    });

    test("a resource waiting for deletion (delete: true) does not settle a create", () => {
        const exported = fixture("rerun-up");
        const resources = exported.deployment.resources!.map((r) => (r.urn.endsWith("::manual-inject") ? { ...r, delete: true } : r));
        const { unsettled } = pending.reconcile({ ...exported, deployment: { ...exported.deployment, resources } }, { after: "up" });
        expect(urns(unsettled)).toEqual(["manual-inject"]);
    });

    test("no pending operations: nothing to do", () => {
        expect(pending.afterReport({ version: 3, deployment: { resources: [] } }, { after: "up" }, "dev", "")).toEqual({ status: "none", message: "" });
    });
});

describe("after a destroy that succeeded", () => {
    test("a minikube stack: the profile went with the destroy, so its objects did too: settled", () => {
        const exported = fixture("destroyed");
        expect(pending.reconcile(exported, { after: "destroy", wasMinikube: true }).unsettled).toEqual([]);
        expect(pending.afterReport(exported, { after: "destroy", wasMinikube: true }, "dev", "istio-dev").status).toBe("import");
    });

    test("an existing cluster: an object a pending create names may still be there: named, the state kept", () => {
        const exported = fixture("destroyed");
        const report = pending.afterReport(exported, { after: "destroy", wasMinikube: false }, "cluster", "team-cluster");
        expect(report.status).toBe("keep");
        expect(report.message).toContain("may still exist");
        expect(report.message).toContain("  - Deployment istio-system/istiod: kubectl --context team-cluster -n istio-system get deployment istiod");
        expect(report.message).toContain("  - Namespace manual-inject: kubectl --context team-cluster get namespace manual-inject");
    });

    test("a minikube stack whose start was interrupted and never in the state: the profile may still exist", () => {
        const report = pending.afterReport(fixture("destroyed-start-killed"), { after: "destroy", wasMinikube: false }, "dev", "");
        expect(report.status).toBe("keep");
        expect(report.message).toContain("the start of minikube profile istio-dev (command:local:Command minikube-start): minikube status -p istio-dev");
    });

    test("a targeted destroy that left the minikube start in the state: the cluster is not gone", () => {
        const exported = fixture("rerun-up");
        expect(urns(pending.reconcile(exported, { after: "destroy", wasMinikube: true }).settled)).toEqual(["istiod:istio-system/istiod", "manual-inject"]);
        const undeclared = fixture("rerun-up-undeclared");
        expect(urns(pending.reconcile(undeclared, { after: "destroy", wasMinikube: true }).unsettled)).toEqual(["manual-inject"]);
    });
});
