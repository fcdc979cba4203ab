import * as path from "path";

/** Folder of the shell scripts the commands run, relative to the project folder where Pulumi runs them. */
export const SCRIPTS_DIR = path.join("components", "scripts");

/**
 * The fixed command line that runs one of our scripts. It never contains a configured value: those travel
 * in the command's `environment`, and the scripts quote them.
 */
export function scriptCommand(script: string): string {
    if (!/^[a-z0-9-]+\.sh$/.test(script)) throw new Error(`not a script name: ${script}`);
    return `bash ${SCRIPTS_DIR}/${script}`;
}
