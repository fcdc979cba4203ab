// The real tier's verdict on a rotation step (e2e/harness/rotation.ts stepFindings) and how it runs an `up`
// under the pod probe (e2e/harness/podProbe.ts underProbe): the harness's own logic, checked here without a
// cluster, so that a step cannot pass the tier with a replace in its `up` or leave a probe running after a
// failed `up`.
import { stepFindings, StepObservation, unexpectedChanges } from "../e2e/harness/rotation";
import { dataPlaneOutcome } from "../e2e/harness/dataPlane";
import { causeOf, OUTSIDE_THE_PROGRAM, probeLines, programRefusals, ProbeResult, underProbe, UNKNOWN_AUTHORITY } from "../e2e/harness/podProbe";

const STACK = "urn:pulumi:real_cluster::istio-minikube";
const clean = (): StepObservation => ({
    previewSteps: [
        { op: "update", urn: `${STACK}::istio-minikube:trust:MeshCertificates$pulumi-nodejs:dynamic:Resource::mesh-certificates` },
        { op: "replace", urn: `${STACK}::istio-minikube:verify:Verification$command:local:Command::check-mtls-mode` },
    ],
    upSteps: [{ op: "update", urn: `${STACK}::istio-minikube:istio:IstioControlPlane$kubernetes:core/v1:Secret::cacerts` }],
    updatedTrustObjects: ["cacerts"],
    expectedTrustUpdates: ["cacerts"],
    roll: { newReplicaSets: ["replicaset.apps/istiod-7d9f"], minReadyPods: 1, samples: 40 },
    probe: { attempts: 50, injected: 50, notInjected: 0, refused: {}, examples: {} },
    dataPlane: { requests: 120, failed: 0, failures: {}, examples: {}, slowestSeconds: 0.1 },
});

describe("stepFindings: what a rotation step must show", () => {
    test("a step that did what an operator needs has no finding; the checks, replaced on purpose, are not one", () => {
        expect(stepFindings(clean())).toEqual([]);
    });

    test("a replace in the up is a finding, not only a delete (an up's replaces went unchecked before)", () => {
        const deployment = `${STACK}::istio-minikube:mesh:Samples$kubernetes:apps/v1:Deployment::details-v1`;
        const o = { ...clean(), upSteps: [{ op: "replace", urn: deployment }, { op: "create-replacement", urn: deployment }, { op: "delete-replaced", urn: deployment }] };
        expect(stepFindings(o)).toEqual([`the up did replace ${deployment}`, `the up did create-replacement ${deployment}`, `the up did delete-replaced ${deployment}`]);
        expect(unexpectedChanges([{ op: "delete", urn: deployment }])).toEqual([`delete ${deployment}`]);
    });

    test("istiod not rolled by its Deployment, or no Ready istiod at some moment, is a finding", () => {
        expect(stepFindings({ ...clean(), roll: { newReplicaSets: [], minReadyPods: 1, samples: 40 } })).toEqual(["istiod did not roll: its Deployment made no new ReplicaSet"]);
        expect(stepFindings({ ...clean(), roll: { newReplicaSets: ["rs"], minReadyPods: 0, samples: 40 } })).toEqual(["at some moment no istiod pod was Ready"]);
    });

    test("every refused pod counts, whatever its cause, with the causes named; a connection cut or refused is no excuse", () => {
        const probe: ProbeResult = {
            attempts: 50,
            injected: 46,
            notInjected: 0,
            refused: { [UNKNOWN_AUTHORITY]: 1, "dial tcp 10.96.0.12:443: connect: connection refused": 2, 'Post "https://istiod.istio-system.svc:443/inject": EOF': 1 },
            examples: {},
        };
        expect(programRefusals(probe)).toBe(4);
        expect(stepFindings({ ...clean(), probe })).toEqual([
            `4 pods refused: 1× ${UNKNOWN_AUTHORITY}; 2× dial tcp 10.96.0.12:443: connect: connection refused; 1× Post "https://istiod.istio-system.svc:443/inject": EOF`,
        ]);
        expect(OUTSIDE_THE_PROGRAM).toEqual({});
    });

    test("a failed request between sidecars, or a probe that measured nothing, is a finding", () => {
        expect(stepFindings({ ...clean(), dataPlane: { requests: 120, failed: 2, failures: { "HTTP 503": 2 }, examples: {}, slowestSeconds: 0.1 } })).toEqual(["2 of 120 requests between sidecars failed: 2× HTTP 503"]);
        expect(stepFindings({ ...clean(), dataPlane: { requests: 0, failed: 0, failures: {}, examples: {}, slowestSeconds: 0.1 } })).toEqual(["the data-plane probe sent no request"]);
        expect(stepFindings({ ...clean(), probe: { attempts: 0, injected: 0, notInjected: 0, refused: {}, examples: {} } })).toEqual(["the pod probe created no pod"]);
    });

    test("a cause is the end of the API server's message, where the error is; the printed lines carry one example each", () => {
        const message = 'Error from server (InternalError): Internal error occurred: failed calling webhook "rev.namespace.sidecar-injector.istio.io": failed to call webhook: Post "https://istiod.istio-system.svc:443/inject?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused';
        expect(causeOf(message)).toBe(message.slice(-200));
        expect(causeOf(`... tls: failed to verify certificate: ${UNKNOWN_AUTHORITY}`)).toBe(UNKNOWN_AUTHORITY);
        const lines = probeLines("sign", { attempts: 3, injected: 2, notInjected: 0, refused: { [causeOf(message)]: 1 }, examples: { [causeOf(message)]: message } });
        expect(lines[0]).toBe(`sign: 3 pods created every 0.5 s: 2 injected, 0 not injected, 1 refused by the program (1× ${causeOf(message)})`);
        expect(lines[1]).toContain("example of");
        expect(lines[1]).toContain("connection refused");
    });
});

describe("underProbe: an up under the pod probe", () => {
    test("a failed up stops the probe before its error goes on: no pods are created into the tests that follow", async () => {
        const events: string[] = [];
        const start = () => {
            events.push("start");
            return { stop: async () => (events.push("stop"), "probe result") };
        };
        await expect(
            underProbe(start, async () => {
                events.push("up");
                throw new Error("up failed");
            }),
        ).rejects.toThrow("up failed");
        expect(events).toEqual(["start", "up", "stop"]);
    });

    test("a good up gives its value and the probe's result, the probe stopped after the up", async () => {
        const events: string[] = [];
        const got = await underProbe(
            () => ({ stop: async () => (events.push("stop"), 7) }),
            async () => (events.push("up"), "done"),
        );
        expect(got).toEqual({ value: "done", probe: 7 });
        expect(events).toEqual(["up", "stop"]);
    });
});

describe("dataPlaneOutcome: what the data-plane probe's log says", () => {
    const log = [
        "100.000000000 200 0 0.012",
        "100.400000000 503 0 0.020",
        "100.800000000 000 28 10.001",
        "101.200000000 000 56 0.004",
        "101.600000000 200 0",
        "102.000000000 200 0 2.500",
        "not a probe line",
        "103.000000000 200 0 0.010",
    ].join("\n");

    test("every request sent in the window counts; a non-200, a curl error or a line not written whole is a failure, by cause", () => {
        const outcome = dataPlaneOutcome(log, 100_000, 102_500);
        expect(outcome.requests).toBe(6);
        expect(outcome.failed).toBe(4);
        expect(outcome.failures).toEqual({ "HTTP 503": 1, "curl exit 28": 1, "curl exit 56": 1, "a line the probe could not write whole": 1 });
        expect(outcome.examples["curl exit 28"]).toBe("100.800000000 000 28 10.001");
        // A slow answer is latency, reported, not a failure.
        expect(outcome.slowestSeconds).toBe(10.001);
    });

    test("requests sent outside the window are not counted", () => {
        expect(dataPlaneOutcome(log, 102_000, 103_500)).toEqual({ requests: 2, failed: 0, failures: {}, examples: {}, slowestSeconds: 2.5 });
    });
});
