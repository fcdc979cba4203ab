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

test("the oldest release is in the oldest line, and no older than what @pulumi/pulumi's npm arborist asks for", () => {
    const [major, minor] = oldestNode().split(".").map(Number);
    expect(major).toBe(supportedLines()[0]);
    const arborist = JSON.parse(read("node_modules/@npmcli/arborist/package.json")).engines.node as string;
    const floor = new RegExp(`>=${major}\\.(\\d+)\\.0`).exec(arborist);
    expect(floor).not.toBeNull();
    expect(minor).toBeGreaterThanOrEqual(Number(floor![1]));
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
