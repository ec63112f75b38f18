/** Progress lines for long-running commands, on stderr so stdout stays parseable. */
export interface Progress {
  step(message: string): void;
  warn(message: string): void;
}

export function createProgress(stream: NodeJS.WritableStream = process.stderr, quiet = false): Progress {
  const started = Date.now();
  const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  return {
    step: (message) => void (quiet || stream.write(`${stamp()} ▸ ${message}\n`)),
    warn: (message) => void stream.write(`${stamp()} ! ${message}\n`),
  };
}
