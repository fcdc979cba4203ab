// scripts/deployed-cluster.js: which cluster a stack's state says it deployed to (npm run up and npm run
// destroy act on that, not on a config file that may have changed since).
import { existingState, minikubeState } from "./helpers/stackState";
const { deployedCluster } = require("../scripts/deployed-cluster.js") as {
    deployedCluster(exported: unknown): { kind: string; name: string; replacing: boolean };
};

type State = { deployment: { resources: Record<string, unknown>[] } };

test("a minikube stack: the profile its start command was given", () => {
    expect(deployedCluster(minikubeState("istio-my-stack-1a2b3c4d"))).toEqual({ kind: "minikube", name: "istio-my-stack-1a2b3c4d", replacing: false });
});

test("an existing cluster: the context of the ExistingCluster's provider", () => {
    expect(deployedCluster(existingState("team-cluster"))).toEqual({ kind: "existing", name: "team-cluster", replacing: false });
});

test.each([null, undefined, {}, { version: 3, deployment: null }, { version: 3, deployment: { resources: [] } }])("nothing deployed (%j): empty", (exported) => {
    expect(deployedCluster(exported)).toEqual({ kind: "", name: "", replacing: false });
});

test("a profile being replaced (delete before replace, new start not done) is reported as such", () => {
    expect(deployedCluster(minikubeState("istio-dev", "dev", { pendingReplacement: true }))).toEqual({ kind: "minikube", name: "istio-dev", replacing: true });
});

test("an old copy waiting for deletion (`delete: true`) is not the cluster; the live one is", () => {
    const state = minikubeState("istio-new") as State;
    const old = { ...state.deployment.resources[1], delete: true, inputs: { environment: { MINIKUBE_PROFILE: "istio-old" } } };
    state.deployment.resources.splice(1, 0, old);
    expect(deployedCluster(state).name).toBe("istio-new");
});

test("a minikube stack's own provider never makes it look like an existing cluster", () => {
    const state = minikubeState("istio-dev") as State;
    state.deployment.resources.splice(1, 1); // no start command left, only MinikubeCluster's provider
    expect(deployedCluster(state)).toEqual({ kind: "", name: "", replacing: false });
});
