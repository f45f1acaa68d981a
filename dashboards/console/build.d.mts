/** Builds the console into `outdir` (dist/ by default); resolves to the output directory. */
export function buildConsole(outdir?: string): Promise<string>
