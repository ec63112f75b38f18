/**
 * The one error type of the sample apps: bad configuration (an env var or a
 * flag) that keeps an app from starting. The message names the offending
 * variable and value so `weftctl local logs` shows what to fix.
 */
export class SampleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SampleError";
  }
}
