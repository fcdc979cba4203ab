// The Node.js lines the project supports are said in four places a user or CI reads: package.json's engines
// (npm warns outside it), the preflight (which names a line that is not supported), README's prerequisites,
// and the versions CI runs (.ci/node-versions: the oldest and the newest line). They must say the same.
import * as fs from "fs";
import * as path from "path";

const projectDir = path.resolve(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(projectDir, file), "utf8");

/** The preflight's list, the one the others are checked against. */
const supportedLines = (): number[] => {
    const match = /^supported_node_lines="([0-9 ]+)"$/m.exec(read("components/scripts/preflight.sh"));
    expect(match).not.toBeNull();
    return match![1].split(" ").map(Number);
};
/** The preflight's oldest release of the oldest line. */
const oldestNode = (): string => {
    const match = /^oldest_node=([0-9]+\.[0-9]+\.[0-9]+)$/m.exec(read("components/scripts/preflight.sh"));
    expect(match).not.toBeNull();
    return match![1];
};

test("the supported lines are even lines (the ones that reach long-term support), oldest first", () => {
    const lines = supportedLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line % 2).toBe(0);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
});

/**
 * Whether a Node release satisfies an engines range of the forms the lock file holds (">=22", ">= 8",
 * "^18.19.0 || >=20.6.0", "18 || 20 || >=22", "6.* || >= 10.*", ">=8.10.0 <9.0.0"); any other form throws,
 * so a new one is read, not skipped.
 */
function satisfies(version: number[], range: string): boolean {
    const compare = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    return range.split("||").some((set) =>
        set.trim().replace(/(>=|<|\^)\s+/g, "$1").split(/\s+/).every((comparator) => {
            const m = /^(>=|<|\^)?(\d+)(?:\.(\d+|\*))?(?:\.(\d+|\*))?$/.exec(comparator);
            if (!m) throw new Error(`engines range ${JSON.stringify(range)}: ${comparator} is not a form this test reads`);
            const bound = [m[2], m[3], m[4]].map((part) => (part === undefined || part === "*" ? 0 : Number(part)));
            if (m[1] === ">=") return compare(version, bound) >= 0;
            if (m[1] === "<") return compare(version, bound) < 0;
            return version[0] === bound[0] && compare(version, bound) >= 0; // ^X.Y.Z, X and X.*: that line, from there
        }),
    );
}

test("the oldest release is in the oldest line, and satisfies every runtime dependency's engines", () => {
    const oldest = oldestNode().split(".").map(Number);
    expect(oldest[0]).toBe(supportedLines()[0]);
    const packages = JSON.parse(read("package-lock.json")).packages as Record<string, { dev?: boolean; engines?: { node?: string } }>;
    const ranges = Object.entries(packages)
        .filter(([name, entry]) => name !== "" && !entry.dev && entry.engines?.node)
        .map(([name, entry]) => ({ name, engines: entry.engines!.node! }));
    expect(ranges).toContainEqual({ name: "node_modules/@pulumi/pulumi", engines: ">=22" });
    for (const range of ranges) expect({ ...range, satisfied: satisfies(oldest, range.engines) }).toEqual({ ...range, satisfied: true });
    // The check is live: a 20 fails @pulumi/pulumi's.
    expect(satisfies([20, 20, 2], ">=22")).toBe(false);
});

test("package.json's engines allow exactly those lines, the oldest from that release", () => {
    const engines = JSON.parse(read("package.json")).engines.node;
    const [oldest, ...rest] = supportedLines();
    expect(oldestNode().startsWith(`${oldest}.`)).toBe(true);
    expect(engines).toBe([`^${oldestNode()}`, ...rest.map((line) => `^${line}`)].join(" || "));
    expect(JSON.parse(read("package-lock.json")).packages[""].engines.node).toBe(engines);
});

test("README's prerequisites name the same lines", () => {
    const lines = supportedLines();
    const [major, minor] = oldestNode().split(".");
    const text = `Node.js ${[`${lines[0]} (${major}.${minor} or newer)`, ...lines.slice(1, -1)].join(", ")} or ${lines[lines.length - 1]}`;
    expect(read("README.md")).toContain(text);
});

test("CI runs the oldest and the newest supported line, at pinned versions", () => {
    const versions = Object.fromEntries(
        read(".ci/node-versions")
            .split("\n")
            .filter((line) => /^[a-z]+=/.test(line))
            .map((line) => line.split("=") as [string, string]),
    );
    const lines = supportedLines();
    expect(versions.oldest).toMatch(/^\d+\.\d+\.\d+$/);
    expect(versions.newest).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(versions.oldest.split(".")[0])).toBe(lines[0]);
    const [minor, wanted] = [Number(versions.oldest.split(".")[1]), Number(oldestNode().split(".")[1])];
    expect(minor).toBeGreaterThanOrEqual(wanted);
    expect(Number(versions.newest.split(".")[0])).toBe(lines[lines.length - 1]);
});
