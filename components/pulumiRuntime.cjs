// Loaded by node before Pulumi's runtime and before the program (Pulumi.yaml runtime.options.nodeargs
// `--require`), so plain JavaScript. Two things that make every `pulumi preview` and `up` faster.
"use strict";
const os = require("os");
const path = require("path");

// 1. Node's module compile cache (module.enableCompileCache, Node 22.8 and newer): V8's compiled code for
// every module the program loads (@pulumi/pulumi, @pulumi/kubernetes, tsx's output for the .ts files) is
// kept on disk and reused by the next run, which then skips most of the compilation. Older Nodes have no
// such function and run as before. NODE_COMPILE_CACHE set by the user has already enabled Node's own
// (this call then reports ALREADY_ENABLED and changes nothing); NODE_DISABLE_COMPILE_CACHE turns it off.
// Node keys its entries by its version and the module's content, so a stale entry is never used
// (doc/api/module.md "Module compile cache").
const nodeModule = require("module");
if (typeof nodeModule.enableCompileCache === "function") {
    nodeModule.enableCompileCache(compileCacheDir());
}

function compileCacheDir() {
    const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(cacheHome, "istio-minikube", "node-compile-cache");
}

// 2. The program's remote components (helm.v4.Chart, yaml.v2.ConfigGroup) return their children as resource
// references, and @pulumi/pulumi turns every reference it receives into a live resource object with a
// `pulumi:pulumi:getResource` invoke that fetches that child's whole state (runtime/rpc.js
// deserializeProperty -> resourceModule.construct -> runtime/resource.js getResource). The program never
// reads those children (it waits on a component through its URN, runtime/dependsOn.ts), and the round
// trips, 84 of them with Istio's CRDs among them, cost about 1.5 s of a no-op preview on 2 cores.
// So the program asks for references as URNs and IDs: @pulumi/pulumi utils.js reads this variable once,
// when it loads, for every request's acceptResources. A value the user set wins.
if (process.env.PULUMI_DISABLE_RESOURCE_REFERENCES === undefined) {
    process.env.PULUMI_DISABLE_RESOURCE_REFERENCES = "1";
}
