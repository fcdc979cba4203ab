// README and docs/: every relative link reaches a file or folder of the repository, every #anchor a heading
// of the page it names (GitHub's rule for heading ids), and README stays the newcomer's short page.
// Links that leave the repository (the blog beside it, in ../shared) are outside what this can check.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.resolve(__dirname, "..");
const README_MAX_LINES = 200;

/**
 * GitHub's id for a heading: lowercase; every character that is not a letter, digit, space, hyphen or
 * underscore removed (letters of any script stay); each space a hyphen. `seen` counts the slugs of one page,
 * so a repeated heading gets -1, -2, ... as GitHub gives it.
 */
function slug(heading: string, seen?: Map<string, number>): string {
    const base = heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{M}\p{N} _-]/gu, "")
        .replace(/ /g, "-");
    if (!seen) return base;
    // github-slugger's loop: the base's count goes up until base-count is free.
    let id = base;
    while (seen.has(id)) {
        seen.set(base, seen.get(base)! + 1);
        id = `${base}-${seen.get(base)}`;
    }
    seen.set(id, 0);
    return id;
}

/**
 * The text with fenced code blocks and inline code spans blanked out, every other character and every line
 * break where it was, so what is found in it keeps its line number. A code span ends inside its paragraph.
 */
function blankCode(text: string): string {
    const lines = text.split("\n");
    let fence: string | null = null;
    const kept = lines.map((line) => {
        const opener = /^\s*(`{3,}|~{3,})/.exec(line);
        if (fence === null) {
            if (opener) {
                fence = opener[1];
                return "";
            }
            return line;
        }
        if (opener && opener[1][0] === fence[0] && opener[1].length >= fence.length && line.trim() === opener[1]) fence = null;
        return "";
    });
    return kept
        .join("\n")
        .split(/(\n[ \t]*\n)/)
        .map((block) => block.replace(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, (span) => span.replace(/[^\n]/g, " ")))
        .join("");
}

/** The ids of a page's headings (ATX and setext), and of explicit `<a name>` / `id` anchors. */
function anchorsOf(markdown: string): Set<string> {
    const seen = new Map<string, number>();
    const ids = new Set<string>();
    const add = (raw: string) => {
        const text = raw
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link shows its text
            .replace(/<[^>]+>/g, ""); // HTML tags show nothing
        ids.add(slug(text, seen));
    };
    const lines = blankCode(markdown).split("\n");
    const source = markdown.split("\n");
    lines.forEach((line, i) => {
        const atx = /^ {0,3}(#{1,6})\s+(.*?)(\s+#+)?\s*$/.exec(line);
        if (atx) add(source[i].replace(/^ {0,3}#{1,6}\s+/, "").replace(/\s+#+\s*$/, ""));
        else if (/^ {0,3}(=+|-+)\s*$/.test(line) && i > 0 && lines[i - 1].trim() !== "" && !/^ {0,3}(#|[-*+] |\||>)/.test(lines[i - 1]))
            add(source[i - 1]);
        for (const m of line.matchAll(/<a\s[^>]*\b(?:name|id)="([^"]+)"/g)) ids.add(m[1]);
    });
    return ids;
}

interface LinkProblem {
    file: string;
    line: number;
    target: string;
    problem: string;
}

/** Every `[text](target)` (and `![alt](src)`) outside code, with its line. */
function linksOf(markdown: string): { line: number; target: string }[] {
    const text = blankCode(markdown);
    const found: { line: number; target: string }[] = [];
    for (const m of text.matchAll(/!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+("[^"]*"|'[^']*'))?\s*\)/g)) {
        const target = m[1].replace(/^<(.*)>$/, "$1");
        found.push({ line: text.slice(0, m.index).split("\n").length, target });
    }
    return found;
}

/**
 * The broken relative links of the given markdown files (paths relative to root). A target that leaves root
 * is not checked; one with a scheme (https:, mailto:) or starting with // neither.
 */
function checkLinks(root: string, files: string[]): LinkProblem[] {
    const problems: LinkProblem[] = [];
    const anchorCache = new Map<string, Set<string>>();
    const anchors = (file: string) => {
        if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(fs.readFileSync(file, "utf8")));
        return anchorCache.get(file)!;
    };
    for (const file of files) {
        const absolute = path.join(root, file);
        for (const { line, target } of linksOf(fs.readFileSync(absolute, "utf8"))) {
            const report = (problem: string) => problems.push({ file, line, target, problem });
            if (target === "") {
                report("empty link target");
                continue;
            }
            if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
            const hash = target.indexOf("#");
            const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
            const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
            const resolved = pathPart === "" ? absolute : path.resolve(path.dirname(absolute), pathPart);
            const inside = path.relative(root, resolved);
            if (inside.startsWith("..") || path.isAbsolute(inside)) continue;
            if (!fs.existsSync(resolved)) {
                report(`no such file or folder: ${inside}`);
                continue;
            }
            if (anchor === null) continue;
            if (!resolved.endsWith(".md") || fs.statSync(resolved).isDirectory()) {
                if (!/^L\d+(-L\d+)?$/.test(anchor)) report(`#${anchor} points into ${inside}, which has no headings`);
                continue;
            }
            if (!anchors(resolved).has(anchor)) report(`no heading with id '${anchor}' in ${inside}`);
        }
    }
    return problems;
}

function markdownFiles(): string[] {
    const docs = fs.existsSync(path.join(REPO, "docs"))
        ? (fs.readdirSync(path.join(REPO, "docs"), { recursive: true }) as string[])
              .filter((f) => f.endsWith(".md"))
              .map((f) => path.join("docs", f))
              .sort()
        : [];
    return ["README.md", ...docs];
}

const lineCount = (text: string) => (text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0));

describe("slug: GitHub's id for a heading", () => {
    test.each([
        ["What `pulumi up` builds", "what-pulumi-up-builds"],
        ["The unit tier (`npm test`)", "the-unit-tier-npm-test"],
        ["Creating a stack: the passphrase and `encryptionsalt`", "creating-a-stack-the-passphrase-and-encryptionsalt"],
        ["After a reboot or `minikube stop`", "after-a-reboot-or-minikube-stop"],
        ["See it: the product page & the dashboards", "see-it-the-product-page--the-dashboards"],
        ["snake_case and v1.35.1", "snake_case-and-v1351"],
        ["Übersicht: 网格 und Ärger", "übersicht-网格-und-ärger"],
    ])("%s -> %s", (heading, id) => expect(slug(heading)).toBe(id));

    test("a repeated heading gets -1, -2", () => {
        expect([...anchorsOf("# Notes\n\n## Notes\n\n### Notes\n")]).toEqual(["notes", "notes-1", "notes-2"]);
    });
});

describe("the link checker", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-links-"));
        fs.mkdirSync(path.join(dir, "docs"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);

    test("reports a missing file and an anchor no heading has, and nothing for links that resolve", () => {
        write(
            "README.md",
            [
                "# Top",
                "",
                "## Two commands",
                "",
                "[good file](docs/a.md), [good anchor](docs/a.md#the-unit-tier-npm-test), [here](#two-commands),",
                "[a folder](docs), [the web](https://example.com/x#y), [mail](mailto:a@b.c), [outside](../elsewhere/x.txt).",
                "[missing](docs/nope.md) and [bad anchor](docs/a.md#the-unit-tier) and [bad here](#three-commands).",
                "",
            ].join("\n"),
        );
        write("docs/a.md", "# A\n\n## The unit tier (`npm test`)\n\nBack to the [README](../README.md#top).\n");
        expect(checkLinks(dir, ["README.md", "docs/a.md"])).toEqual([
            { file: "README.md", line: 7, target: "docs/nope.md", problem: "no such file or folder: docs/nope.md" },
            { file: "README.md", line: 7, target: "docs/a.md#the-unit-tier", problem: "no heading with id 'the-unit-tier' in docs/a.md" },
            { file: "README.md", line: 7, target: "#three-commands", problem: "no heading with id 'three-commands' in README.md" },
        ]);
    });

    test("ignores links in fenced code and inline code, and finds headings only outside code", () => {
        write(
            "docs/b.md",
            [
                "# B",
                "",
                "```sh",
                "# not a heading",
                "echo [x](missing.md)",
                "```",
                "",
                "Inline `[y](missing.md)` is code; [z](#not-a-heading) is not.",
                "",
            ].join("\n"),
        );
        expect(checkLinks(dir, ["docs/b.md"])).toEqual([
            { file: "docs/b.md", line: 8, target: "#not-a-heading", problem: "no heading with id 'not-a-heading' in docs/b.md" },
        ]);
    });
});

describe("README and docs/", () => {
    const files = markdownFiles();

    test("there are pages in docs/, and README links to each of them", () => {
        const docs = files.filter((f) => f !== "README.md");
        expect(docs.length).toBeGreaterThan(0);
        const targets = new Set(linksOf(fs.readFileSync(path.join(REPO, "README.md"), "utf8")).map((l) => l.target.replace(/#.*$/, "")));
        expect(docs.filter((f) => !targets.has(f.split(path.sep).join("/")))).toEqual([]);
    });

    test("every relative link and #anchor resolves", () => {
        expect(checkLinks(REPO, files)).toEqual([]);
    });

    test(`README is at most ${README_MAX_LINES} lines`, () => {
        expect(lineCount(fs.readFileSync(path.join(REPO, "README.md"), "utf8"))).toBeLessThanOrEqual(README_MAX_LINES);
    });
});
