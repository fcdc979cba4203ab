// Loaded by node before Pulumi's runtime and before the program (Pulumi.yaml runtime.options.nodeargs
// `--require`), so plain JavaScript.
//
// The program's remote components (helm.v4.Chart, yaml.v2.ConfigGroup) return their children as resource
// references, and @pulumi/pulumi turns every reference it receives into a live resource object with a
// `pulumi:pulumi:getResource` invoke that fetches that child's whole state (runtime/rpc.js
// deserializeProperty -> resourceModule.construct -> runtime/resource.js getResource). The program never
// reads those children (it waits on a component through its URN, runtime/dependsOn.ts), and the round
// trips, 84 of them with Istio's CRDs among them, cost about 1.5 s of a no-op preview on 2 cores.
// So the program asks for references as URNs and IDs: @pulumi/pulumi utils.js reads this variable once,
// when it loads, for every request's acceptResources. A value the user set wins.
"use strict";
if (process.env.PULUMI_DISABLE_RESOURCE_REFERENCES === undefined) {
    process.env.PULUMI_DISABLE_RESOURCE_REFERENCES = "1";
}
