// @ts-check
// Service istiod in front of the tier's istiod processes, as kube-proxy routes a Service to its ready
// endpoints: run inside the tier's network namespace by istiod.ts, it listens on each `host:port` given and
// forwards every new connection to 127.0.0.1:(port + offset), the offset of the ready istiod read from
// `backendFile`. The supervisor starts the next istiod on other ports, writes its offset once it is ready,
// and only then stops the previous one, as the chart's rolling update does (maxSurge 100%, maxUnavailable
// 25% of one replica rounds down to 0: manifests/charts/istio-control/istio-discovery/values.yaml).
// Connections already open stay with the istiod they reached, which drains them as it stops (its https
// server's Shutdown: pilot/pkg/bootstrap/server.go). With no offset (no ready istiod) nothing listens, so a
// caller sees "connection refused", as with a Service that has no endpoints.
// Usage: node service-proxy.cjs <backendFile> <host:port>...
"use strict";
const fs = require("fs");
const net = require("net");

const [backendFile, ...listens] = process.argv.slice(2);
/** @type {number | undefined} */
let offset;

/** Forwards one caller to the ready istiod's port, or resets it when there is none. */
function forward(/** @type {net.Socket} */ client, /** @type {number} */ port) {
    const target = offset;
    if (target === undefined) {
        client.resetAndDestroy();
        return;
    }
    const upstream = net.connect({ host: "127.0.0.1", port: port + target });
    client.pipe(upstream);
    upstream.pipe(client);
    // An upstream that refuses or fails is reset to the caller, as a dead endpoint would be. A clean close
    // is passed on by the pipe's end(), after what is buffered for the caller is flushed.
    upstream.on("error", () => client.resetAndDestroy());
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
}

const listeners = listens.map((spec) => {
    const at = spec.lastIndexOf(":");
    return { spec, host: spec.slice(0, at), port: Number(spec.slice(at + 1)), /** @type {net.Server | undefined} */ server: undefined };
});

function listen(/** @type {typeof listeners[number]} */ listener) {
    const server = net.createServer((client) => forward(client, listener.port));
    server.on("error", (err) => {
        process.stderr.write(`service-proxy: ${listener.spec}: ${err.message}\n`);
        process.exit(1);
    });
    server.listen(listener.port, listener.host);
    listener.server = server;
}

function readOffset() {
    try {
        const text = fs.readFileSync(backendFile, "utf8").trim();
        return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
        return undefined;
    }
}

function follow() {
    const next = readOffset();
    if (next === offset) return;
    offset = next;
    process.stdout.write(`service-proxy: backend offset ${next ?? "none"}\n`);
    for (const listener of listeners) {
        if (offset !== undefined && !listener.server) listen(listener);
        else if (offset === undefined && listener.server) {
            listener.server.close();
            listener.server = undefined;
        }
    }
}

follow();
setInterval(follow, 50);
process.on("SIGTERM", () => process.exit(0));
